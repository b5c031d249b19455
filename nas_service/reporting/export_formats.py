"""The export formats and the output check: light, so that the command line refuses a bad
``--output`` before importing torch and MLflow."""

from __future__ import annotations

import os
import posixpath
import re
from pathlib import Path

from nas_service.core.errors import ConfigError
from nas_service.value_rules import check_path

FORMATS = ("torchscript", "pt2", "state_dict", "mlflow")
FOLDER_FORMATS = ("state_dict", "mlflow")
SUFFIXES = {"torchscript": ".torchscript.pt", "pt2": ".pt2", "state_dict": "", "mlflow": ""}
DEFAULT_ALIAS = "champion"


def writable_output(path: Path, fmt: str) -> Path:
    """``--output``, checked before any work: its folder exists and is writable, and nothing is
    there yet (an export never overwrites a file or a folder: it may be another run's)."""
    check_path("--output", path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ConfigError(f"--output {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(f"--output {path}: folder {folder} is not writable")
    if path.is_dir():
        raise ConfigError(
            f"--output {path}: is an existing folder; give the path of a new "
            f"{'folder' if fmt in FOLDER_FORMATS else 'file'}"
        )
    if path.exists() or path.is_symlink():
        raise ConfigError(
            f"--output {path}: already exists (an export never overwrites a file); give a new path"
        )
    return path


def checked_model_name(name: str) -> str:
    """``--register``, checked as the MLflow model registry will, before any work: not blank, no
    '/' or ':', and not a path that normalises to another name."""
    if not name.strip():
        raise ConfigError(f"--register {name!r}: a registered model needs a name")
    if "/" in name or ":" in name:
        raise ConfigError(f"--register {name!r}: MLflow model names cannot contain '/' or ':'")
    if posixpath.normpath(name) != name or name.startswith(".."):
        raise ConfigError(
            f"--register {name!r}: MLflow refuses names that read as a relative path; choose another"
        )
    return name


def checked_alias(alias: str) -> str:
    """``--alias``, checked as the model registry will (letters, digits, ``_`` and ``-``; not
    ``latest`` nor a version such as ``v3``), before any work."""
    if not re.fullmatch(r"[\w\-]{1,255}", alias):
        raise ConfigError(f"--alias {alias!r}: use 1 to 255 letters, digits, '_' or '-'")
    if alias.lower() == "latest" or re.fullmatch(r"[vV]\d+", alias):
        raise ConfigError(
            f"--alias {alias}: reserved by the MLflow model registry (latest and "
            "v<number> name versions); choose another"
        )
    return alias
