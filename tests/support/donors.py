"""Trained-looking donors for the weight-transfer tests, in memory and as checkpoint folders."""

from __future__ import annotations

import torch

from trainables.checkpoints import ARCHITECTURE_FILE, CHECKPOINT_FILE
from trainables.models import build_model
from trainables.spec import ArchSpec
from trainables.transfer import Donor


def trained_donor(depths=(3, 3, 3), num_classes=10, seed=1, **spec) -> Donor:
    torch.manual_seed(seed)
    donor_spec = ArchSpec(depths=depths, num_classes=num_classes, **spec)
    model = build_model(donor_spec)
    for tensor in model.state_dict().values():  # make running stats differ from a fresh net too
        if tensor.dtype.is_floating_point:
            tensor.add_(torch.randn_like(tensor) * 0.1)
    return Donor(donor_spec, model.state_dict())


def save_donor(folder, donor: Donor) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ARCHITECTURE_FILE).write_text(donor.spec.to_json())
    torch.save({"model": donor.state}, folder / CHECKPOINT_FILE)
