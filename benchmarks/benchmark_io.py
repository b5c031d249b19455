"""What every benchmark records: the machine and library versions it ran on, and its numbers as
JSON (the files in ``benchmarks/results/`` that the README quotes)."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import torch


def environment(device: torch.device) -> dict:
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    return {"device": name, "torch": torch.__version__, "date": datetime.date.today().isoformat()}


def write_json(path: str | None, result: dict) -> None:
    """Write ``result`` to ``path`` (folders created) when a path is given."""
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(result, indent=2) + "\n")
