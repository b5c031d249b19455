"""Model builders, created by module type from an ``ArchSpec`` (like timm's ``create_model``).

Builders are named by import path in ``trainables.module_types`` and imported when a model is
built, so validating a module name (the CLI does, before anything else) does not import torch.
"""

from __future__ import annotations

from pkgutil import resolve_name

from trainables.module_types import module_type
from trainables.spec import ArchSpec


def build_model(spec: ArchSpec):
    """Build the ``torch.nn.Module`` a spec describes; its module type picks the class."""
    return resolve_name(module_type(spec.module).builder)(spec)


__all__ = ["build_model"]
