"""Weight transfer from a deeper pre-trained donor (the paper's Section III, Table III).

A candidate's stage i takes the donor's *first* m_i modules of stage i (the paper does not say
which; docs/method.md, "Weight transfer", says why the first), and the stem; the head too when
the number of classes matches (another data set's head is freshly initialised).  Nothing is
averaged or resized: the donor must have the same module type and stage widths, and at least as
many modules in every stage.  Then the candidate is fine-tuned (paper: 50 epochs) instead of
trained from scratch.

A donor marked ``new_task`` (cross-data-set transfer, ``--transfer-to``) always leaves the head
fresh (the classes mean something else), adapts the first convolution to another number of input
channels the way timm's ``adapt_input_conv`` does, and leaves a stem of another shape (the 7x7
ImageNet stem above 32x32 against the 3x3 CIFAR stem) fresh instead of refusing.

Works on state dicts by key, so it applies to every module type whose stages are indexed lists
(``stages.<i>.<j>.``): module j of a candidate stage is module j of the donor stage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch import nn

from trainables.checkpoints import ARCHITECTURE_FILE, CHECKPOINT_FILE, read_checkpoint
from trainables.spec import ArchSpec


class TransferError(ValueError):
    """A donor that cannot give a candidate its weights; the message names the stage or file."""


@dataclass(frozen=True)
class Donor:
    """A trained network's spec and weights, as the trainable needs them (CPU tensors)."""

    spec: ArchSpec
    state: dict[str, torch.Tensor]
    new_task: bool = False  # another data set: fresh head, adapted or fresh stem

    def for_new_task(self) -> Donor:
        return replace(self, new_task=True)

    def check_can_give(
        self, depths: tuple[int, ...], module: str, widths: tuple[int, ...], in_channels: int
    ) -> None:
        """Raise ``TransferError`` unless every candidate of ``depths`` can be built from this
        donor: same module type, stage widths and input channels, and deep enough per stage."""
        spec = self.spec
        if spec.module != module:
            raise TransferError(f"donor is a {spec.module!r} network, the search builds {module!r}")
        if len(spec.depths) != len(depths):
            raise TransferError(f"donor has {len(spec.depths)} stages, the search has {len(depths)}")
        if spec.widths != tuple(widths):
            raise TransferError(
                f"donor stage widths {list(spec.widths)} differ from the search's {list(widths)}"
            )
        if spec.in_channels != in_channels:
            raise TransferError(f"donor takes {spec.in_channels}-channel images, the data has {in_channels}")
        for stage, (have, need) in enumerate(zip(spec.depths, depths, strict=True), start=1):
            if have < need:
                raise TransferError(
                    f"donor stage {stage} has {have} modules, the search needs up "
                    f"to {need} (donor {spec.depths_text})"
                )


def load_donor(folder: str | Path) -> Donor:
    """A donor from a folder holding ``architecture.json`` and ``checkpoint.pt`` (every trial
    checkpoint and every candidate's MLflow run artifacts have both)."""
    folder = Path(folder)
    if folder.is_file():
        folder = folder.parent
    missing = [name for name in (ARCHITECTURE_FILE, CHECKPOINT_FILE) if not (folder / name).is_file()]
    if missing:
        raise TransferError(
            f"donor {folder} lacks {', '.join(missing)}: give a trial checkpoint "
            "folder or a candidate's MLflow run (runs:/<run id>)"
        )
    try:
        spec, state = read_checkpoint(folder)
    except (OSError, ValueError, TypeError, RuntimeError, KeyError) as error:
        raise TransferError(f"donor {folder} cannot be read: {error}") from None
    return Donor(spec, state["model"] if "model" in state else state)


INPUT_CONV = "stem.0.weight"  # the first convolution of every module type's stem


def adapt_input_conv(weight: torch.Tensor, in_channels: int) -> torch.Tensor:
    """A first-layer kernel for ``in_channels`` inputs from one trained on another number (timm's
    ``adapt_input_conv`` rule): to one channel, sum over the donor's channels (a grey image is
    the sum of equal RGB planes); otherwise tile the donor's channels and scale by
    donor/new channels so that the response to a grey image keeps its size."""
    have = weight.shape[1]
    if in_channels == have:
        return weight
    if in_channels == 1:
        return weight.sum(dim=1, keepdim=True)
    tiled = weight.repeat(1, math.ceil(in_channels / have), 1, 1)[:, :in_channels]
    return tiled * (have / in_channels)


def transfer_weights(candidate: nn.Module, donor: Donor) -> list[str]:
    """Copy into ``candidate`` every donor tensor it has a place for; returns the names copied.

    Stage modules beyond the candidate's depth are left out by construction (their keys do not
    exist in the candidate); the head is skipped when its shape differs (other classes), and
    always for a ``new_task`` donor, whose stem is adapted or, when it does not fit, left fresh
    as a whole (module docstring)."""
    own = candidate.state_dict()
    source = dict(donor.state)
    fresh: tuple[str, ...] = ()
    if donor.new_task:
        if INPUT_CONV in source and INPUT_CONV in own:
            source[INPUT_CONV] = adapt_input_conv(source[INPUT_CONV], own[INPUT_CONV].shape[1])
        stem_fits = all(
            name in source and source[name].shape == tensor.shape
            for name, tensor in own.items()
            if name.startswith("stem.")
        )
        fresh = ("head.",) if stem_fits else ("head.", "stem.")
    copied = []
    for name, tensor in own.items():
        if name.startswith(fresh):
            continue
        if name not in source:
            raise TransferError(f"donor has no tensor {name!r}: it is not the same architecture family")
        if source[name].shape != tensor.shape:
            if name.startswith("head."):
                continue
            raise TransferError(
                f"donor tensor {name!r} has shape {tuple(source[name].shape)}, "
                f"the candidate's {tuple(tensor.shape)}"
            )
        own[name] = source[name].to(tensor.dtype)
        copied.append(name)
    candidate.load_state_dict(own)
    return copied
