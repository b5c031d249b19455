"""The architecture spec: the one currency between searcher, trainable, metrics and MLflow.

An ``ArchSpec`` is plain data (like timm's model configs): the module type, the number of modules
in each stage, the stage widths and the input/output shape.  Everything else (the ``nn.Module``,
parameter and MAC counts, run names) is derived from it, so two equal specs always mean the same
network.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from trainables.module_types import module_type

if TYPE_CHECKING:
    from trainables.datasets.splits import DataSplits


def min_image_size(num_stages: int) -> int:
    """The smallest image side a network of ``num_stages`` stages takes: every stage after the
    first halves the feature maps, and the last must keep at least 2x2 for its pooling."""
    return max(8, 2**num_stages)


def format_depths(depths: tuple[int, ...] | list[int]) -> str:
    """``(6, 8, 6)`` -> ``"6-8-6"``: the spelling used in run names, params and the CLI."""
    return "-".join(str(int(m)) for m in depths)


def parse_depths(text: str) -> tuple[int, ...]:
    """``"6-8-6"`` -> ``(6, 8, 6)``; raises ``ValueError`` naming the text when it is not that form."""
    parts = str(text).split("-")
    # ASCII digits only: int() would also take "٦" and the flags' other readers would not
    if not all(re.fullmatch(r"\s*[0-9]+\s*", part) for part in parts):
        raise ValueError(f"depths {text!r} must be positive integers joined by '-', e.g. 6-8-6")
    depths = tuple(int(part) for part in parts)
    if not depths or any(m < 1 for m in depths):
        raise ValueError(f"depths {text!r} must be positive integers joined by '-', e.g. 6-8-6")
    return depths


@dataclass(frozen=True)
class ArchSpec:
    """A stage-wise network.

    Attributes:
        depths: modules per stage (m_1..m_S).
        module: module type, a key of ``trainables.module_types.MODULE_TYPES`` or the import
            path of a ``ModuleType``.
        widths: channels of each stage, one entry per stage; by default the module type's base
            width doubled at every stage (16/32/64 for the CIFAR ResNets, 64..512 for
            bottlenecks, whose blocks output 4x that).
        in_channels: channels of the input images (1 or 3).
        image_size: height and width of the (square) input images.
        num_classes: outputs of the linear head.
    """

    depths: tuple[int, ...]
    module: str = "basic"
    widths: tuple[int, ...] | None = None
    in_channels: int = 3
    image_size: int = 32
    num_classes: int = 10

    def __post_init__(self) -> None:
        object.__setattr__(self, "depths", tuple(int(m) for m in self.depths))
        base = module_type(self.module).base_width
        widths = self.widths or tuple(base * 2**i for i in range(len(self.depths)))
        object.__setattr__(self, "widths", tuple(int(w) for w in widths))
        if not self.depths or any(m < 1 for m in self.depths):
            raise ValueError(f"depths {self.depths} must be one positive integer per stage")
        if len(self.widths) != len(self.depths):
            raise ValueError(
                f"widths {self.widths} must have one entry per stage ({len(self.depths)} stages)"
            )
        if self.in_channels not in (1, 3):
            raise ValueError(f"in_channels {self.in_channels} must be 1 or 3")
        if self.image_size < min_image_size(len(self.depths)):
            raise ValueError(
                f"image_size {self.image_size} must be at least {min_image_size(len(self.depths))}"
            )
        if self.num_classes < 2:
            raise ValueError(f"num_classes {self.num_classes} must be at least 2")

    @property
    def num_stages(self) -> int:
        return len(self.depths)

    @property
    def depth(self) -> int:
        """Layer count as in the models' names (ResNet-56 = 9-9-9 basic, ResNet-50 = 3-4-6-3
        bottleneck, NASNet-241 = 6-6-6 cells; ``ModuleType`` says how each counts)."""
        kind = module_type(self.module)
        return (
            kind.layers_per_module * sum(self.depths)
            + kind.layers_between_stages * (self.num_stages - 1)
            + kind.fixed_layers
        )

    @property
    def depths_text(self) -> str:
        return format_depths(self.depths)

    @classmethod
    def for_data(
        cls, depths: Sequence[int], module: str, widths: tuple[int, ...] | None, data: DataSplits
    ) -> ArchSpec:
        """The network of ``depths`` for ``data``'s image channels, image size and classes."""
        return cls(
            depths=tuple(depths),
            module=module,
            widths=widths,
            in_channels=data.in_channels,
            image_size=data.image_size,
            num_classes=data.num_classes,
        )

    def with_depths(self, depths: tuple[int, ...]) -> ArchSpec:
        return ArchSpec(
            depths=tuple(depths),
            module=self.module,
            widths=self.widths,
            in_channels=self.in_channels,
            image_size=self.image_size,
            num_classes=self.num_classes,
        )

    def to_dict(self) -> dict:
        data = asdict(self)
        data["depths"] = list(self.depths)
        data["widths"] = list(self.widths)
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: dict) -> ArchSpec:
        return cls(**data)
