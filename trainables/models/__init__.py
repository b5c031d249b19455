"""Model builders, created by module name from an ``ArchSpec`` (like timm's ``create_model``).

Builders are named by import path and imported when a model is built, so validating a module name
(the CLI does, before anything else) does not import torch.
"""

from __future__ import annotations

from pkgutil import resolve_name

from trainables.spec import ArchSpec

MODEL_BUILDERS: dict[str, str] = {
    "basic": "trainables.models.resnet:StageResNet",
}


def build_model(spec: ArchSpec):
    """Build the ``torch.nn.Module`` a spec describes; the module type picks the builder."""
    if spec.module not in MODEL_BUILDERS:
        raise ValueError(f"module {spec.module!r} is not one of {sorted(MODEL_BUILDERS)}")
    return resolve_name(MODEL_BUILDERS[spec.module])(spec)


__all__ = ["MODEL_BUILDERS", "build_model"]
