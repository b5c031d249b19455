"""A user's own data set, module type and criterion, given to the CLI by import path
(``--dataset user_plugins:load_bars``, ``--module user_plugins:PLAIN``, ``--criterion
user_plugins:quarter``), as a package outside ``trainables`` and ``scoring`` would be."""

import numpy as np
import torch
from torch import nn

from trainables.datasets.splits import DataSplits, from_train_test
from trainables.module_types import ModuleType
from trainables.spec import ArchSpec


def load_bars(seed: int = 0, **_) -> DataSplits:
    """16x16 grey images of a bright horizontal (class 0) or vertical (class 1) bar."""
    rng = np.random.default_rng(seed)
    labels = np.arange(400) % 2
    images = rng.integers(0, 60, size=(400, 1, 16, 16), dtype=np.uint8)
    where = rng.integers(2, 14, size=400)
    for index, (label, at) in enumerate(zip(labels, where, strict=True)):
        if label == 0:
            images[index, 0, at, :] = 255
        else:
            images[index, 0, :, at] = 255
    return from_train_test(
        "bars",
        images[:300],
        labels[:300],
        images[300:],
        labels[300:],
        2,
        flip_ok=False,
        val_fraction=0.2,
        seed=seed,
    )


class PlainStages(nn.Module):
    """Stage i: ``depths[i]`` conv-BN-ReLU modules of ``widths[i]`` channels; each later stage
    starts with a stride-2 conv.  Scored on each stage's last output, after its ReLU."""

    def __init__(self, spec: ArchSpec) -> None:
        super().__init__()
        self.spec = spec
        stages, channels = [], spec.in_channels
        for index, (depth, width) in enumerate(zip(spec.depths, spec.widths, strict=True)):
            modules = []
            for position in range(depth):
                stride = 2 if index and position == 0 else 1
                modules += [
                    nn.Sequential(
                        nn.Conv2d(channels, width, 3, stride, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU()
                    )
                ]
                channels = width
            stages.append(nn.Sequential(*modules))
        self.stages = nn.ModuleList(stages)
        self.head = nn.Linear(channels, spec.num_classes)

    def forward_stages(self, x: torch.Tensor) -> list[torch.Tensor]:
        outputs = []
        for stage in self.stages:
            x = stage(x)
            outputs.append(x)
        return outputs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.forward_stages(x)[-1].mean((2, 3)))


PLAIN = ModuleType("user_plugins:PlainStages", layers_per_module=1, stages=2, m0=1, delta=1, base_width=4)


def quarter(features: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Every feature 0.25: a criterion whose stage scores a test can know in advance."""
    return np.full(np.shape(features)[1], 0.25)
