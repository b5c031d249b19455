"""Module types a stage can be built from, and what each brings to a search by default.

Plain data without torch (the CLI checks ``--module`` against it before importing anything
heavy); the network classes are named by import path and built by ``trainables.models``.  A user's
own module type is a ``ModuleType`` given by import path (``module_type``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pkgutil import resolve_name


@dataclass(frozen=True)
class ModuleType:
    """A module type: its network class and its defaults.

    Attributes:
        builder: import path of the ``nn.Module`` class that takes an ``ArchSpec``.
        layers_per_module: weight layers per module, for the ResNet-style depth count.
        layers_between_stages: weight layers of what joins two stages (a NASNet reduction cell).
        fixed_layers: stem and head layers.  Depth = layers_per_module x modules +
            layers_between_stages x (S - 1) + fixed_layers: ResNet-56, ResNet-50, NASNet-241.
        stages: default number of stages S.
        m0: default modules per stage of the first architecture.
        delta: default modules added to a stage that grows.
        base_width: channels of the first stage, doubled at every later stage.
    """

    builder: str
    layers_per_module: int
    stages: int
    m0: int
    delta: int
    base_width: int
    layers_between_stages: int = 0
    fixed_layers: int = 2


MODULE_TYPES: dict[str, ModuleType] = {
    # the paper's CIFAR residual networks: basic blocks, 16/32/64 channels, m0 = 6, delta = 2
    "basic": ModuleType(
        "trainables.models.resnet:StageResNet", layers_per_module=2, stages=3, m0=6, delta=2, base_width=16
    ),
    # ImageNet-style: torchvision's bottleneck blocks, 4 stages of 64..512 (x4 out) channels
    "bottleneck": ModuleType(
        "trainables.models.bottleneck:BottleneckResNet",
        layers_per_module=3,
        stages=4,
        m0=2,
        delta=1,
        base_width=64,
    ),
    # NASNet-A cells (the paper's Table IV): 12 conv + separable-conv layers per cell, reduction
    # cells between stages, a stem conv and no counted head (NASNet-241 = 6-6-6); m0 = 2 and
    # delta = 1 as the authors' cell models imply (docs/method.md, "Module types")
    "nasnet": ModuleType(
        "trainables.models.nasnet:NASNet",
        layers_per_module=12,
        stages=3,
        m0=2,
        delta=1,
        base_width=32,
        layers_between_stages=12,
        fixed_layers=1,
    ),
}


def module_type(name: str) -> ModuleType:
    """A built-in module type by name, or a user's ``ModuleType`` by its import path
    ``package.module:ATTRIBUTE`` (its ``builder`` names the ``nn.Module`` class, which takes an
    ``ArchSpec`` and has ``forward_stages``); a ``ValueError`` naming the problem otherwise."""
    if name in MODULE_TYPES:
        return MODULE_TYPES[name]
    if ":" not in name:
        raise ValueError(
            f"module {name!r}: must be one of {', '.join(MODULE_TYPES)} or an import "
            "path package.module:ATTRIBUTE of a ModuleType"
        )
    try:
        found = resolve_name(name)
    except (ImportError, AttributeError, ValueError) as error:
        raise ValueError(f"module {name!r}: cannot be imported ({error})") from None
    if not isinstance(found, ModuleType):
        raise ValueError(
            f"module {name!r}: is a {type(found).__name__}, not a trainables.module_types.ModuleType"
        )
    return found
