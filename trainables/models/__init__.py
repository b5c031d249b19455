"""Model builders, created by module name from an ``ArchSpec`` (like timm's ``create_model``)."""

from __future__ import annotations

from typing import Callable

from torch import nn

from trainables.models.resnet import StageResNet
from trainables.spec import ArchSpec

MODEL_BUILDERS: dict[str, Callable[[ArchSpec], nn.Module]] = {
    "basic": StageResNet,
}


def build_model(spec: ArchSpec) -> nn.Module:
    """Build the network a spec describes; the module type picks the builder."""
    try:
        builder = MODEL_BUILDERS[spec.module]
    except KeyError:
        raise ValueError(
            f"module {spec.module!r} is not one of {sorted(MODEL_BUILDERS)}"
        ) from None
    return builder(spec)


__all__ = ["MODEL_BUILDERS", "build_model", "StageResNet"]
