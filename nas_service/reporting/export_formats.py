"""The export formats and the output check: light, so that the command line refuses a bad
``--output`` before importing torch and MLflow."""

from __future__ import annotations

import os
import re
from pathlib import Path

from nas_service.core.errors import ConfigError

FORMATS = ("torchscript", "pt2", "state_dict", "mlflow")
SUFFIXES = {"torchscript": ".torchscript.pt", "pt2": ".pt2", "state_dict": "", "mlflow": ""}
DEFAULT_ALIAS = "champion"


def writable_output(path: Path, fmt: str) -> Path:
    """``--output``, checked before any work: its folder exists and is writable, and a folder
    format (``mlflow``) does not overwrite what is there."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ConfigError(f"--output {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise ConfigError(f"--output {path}: folder {folder} is not writable")
    if fmt == "mlflow" and path.exists():
        raise ConfigError(f"--output {path}: already exists (an MLflow model folder is never "
                          "overwritten)")
    return path


def checked_alias(alias: str) -> str:
    """``--alias``, checked as the model registry will (letters, digits, ``_`` and ``-``; not
    ``latest`` nor a version such as ``v3``), before any work."""
    if not re.fullmatch(r"[\w\-]{1,255}", alias):
        raise ConfigError(f"--alias {alias!r}: use 1 to 255 letters, digits, '_' or '-'")
    if alias.lower() == "latest" or re.fullmatch(r"[vV]\d+", alias):
        raise ConfigError(f"--alias {alias}: reserved by the MLflow model registry (latest and "
                          "v<number> name versions); choose another")
    return alias
