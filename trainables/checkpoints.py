"""What a trained candidate leaves behind: ``architecture.json`` (its ``ArchSpec``) and
``checkpoint.pt`` (weights, optimizer, epoch and running totals), in each Tune trial checkpoint
and as artifacts of each candidate's MLflow run; the last epoch's checkpoint also holds
``final_result.json``, the trial's last report, so that a trial resumed from it reports again
instead of ending silently.  Reading them needs no Ray."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from trainables.models import build_model
from trainables.spec import ArchSpec

ARCHITECTURE_FILE = "architecture.json"
CHECKPOINT_FILE = "checkpoint.pt"
FINAL_RESULT_FILE = "final_result.json"


def read_checkpoint(folder: str | Path, device: str | torch.device = "cpu") -> tuple[ArchSpec, dict]:
    """(spec, state) of a checkpoint folder; tensors only, never code (``weights_only``)."""
    folder = Path(folder)
    spec = ArchSpec.from_dict(json.loads((folder / ARCHITECTURE_FILE).read_text()))
    return spec, torch.load(folder / CHECKPOINT_FILE, map_location=device, weights_only=True)


def load_trained_model(folder: str | Path) -> tuple[ArchSpec, torch.nn.Module]:
    """The spec and the trained network stored in a checkpoint folder (CPU, eval mode)."""
    spec, state = read_checkpoint(folder)
    model = build_model(spec)
    model.load_state_dict(state["model"])
    return spec, model.eval()


def write_final_result(folder: str | Path, result: dict) -> None:
    """The last report of a trial beside its last checkpoint (numpy values as plain numbers)."""
    (Path(folder) / FINAL_RESULT_FILE).write_text(json.dumps(result, default=lambda v: v.tolist()))


def read_final_result(folder: str | Path) -> dict | None:
    """The report ``write_final_result`` left in ``folder``; ``None`` for an earlier epoch's."""
    path = Path(folder) / FINAL_RESULT_FILE
    return json.loads(path.read_text()) if path.exists() else None
