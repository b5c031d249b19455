"""NASNet-A cells (Zoph, Vasudevan, Shlens and Le, "Learning Transferable Architectures for
Scalable Image Recognition", CVPR 2018) as stage modules, the CIFAR network of that paper.

A stage is ``m_i`` normal cells at one resolution; stages after the first begin with a reduction
cell that halves the resolution and doubles the cell width F (the paper's "N normal cells, then a
reduction cell" stacks, with N free per stage).  Every cell reads the two previous cells' outputs,
each brought to F channels first (ReLU-conv1x1-BN, or a factorised reduction when the older one
has twice the resolution).  The normal cell concatenates its adjusted older input and its five
combinations (6F channels); the reduction cell concatenates four combinations (4F).  Operations
follow the paper's Fig. 4 as timm's ``nasnet.py`` implements it: separable convolutions are
ReLU-sepconv-BN twice.  No DropPath and no auxiliary head (the stage-wise paper trains simply).

With widths 32/64/128 (``--width 32``) and 6 cells per stage this is NASNet-A 6@768 for CIFAR-10:
3.3M parameters in the paper.  The stage scorer sees the output of each stage's last normal cell
(a concatenation, not a residual sum; cells apply their ReLU to their inputs).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from trainables.models.staged import StagedNetwork
from trainables.spec import ArchSpec

STEM_MULTIPLIER = 3  # the CIFAR stem has 3F channels


def relu_conv_bn(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.ReLU(), nn.Conv2d(in_channels, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels)
    )


class SeparableBranch(nn.Module):
    """ReLU, separable k x k conv (depthwise + pointwise), BN, twice; the first may stride."""

    def __init__(self, channels: int, kernel: int, stride: int = 1) -> None:
        super().__init__()
        padding = kernel // 2
        layers: list[nn.Module] = []
        for index in range(2):
            layers += [
                nn.ReLU(),
                nn.Conv2d(
                    channels,
                    channels,
                    kernel,
                    stride=stride if index == 0 else 1,
                    padding=padding,
                    groups=channels,
                    bias=False,
                ),
                nn.Conv2d(channels, channels, 1, bias=False),
                nn.BatchNorm2d(channels),
            ]
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class FactorisedReduction(nn.Module):
    """ReLU, then two stride-2 1x1 convolutions on inputs offset by one pixel, concatenated, BN:
    brings a twice-larger older input to this cell's resolution without losing half the pixels."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.path_a = nn.Conv2d(in_channels, out_channels // 2, 1, bias=False)
        self.path_b = nn.Conv2d(in_channels, out_channels - out_channels // 2, 1, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(x)
        a = self.path_a(x[:, :, ::2, ::2])
        b = self.path_b(F.pad(x, (0, 1, 0, 1))[:, :, 1::2, 1::2])
        return self.bn(torch.cat([a, b], dim=1))


def adjust(in_channels: int, out_channels: int, halve: bool) -> nn.Module:
    return (
        FactorisedReduction(in_channels, out_channels) if halve else relu_conv_bn(in_channels, out_channels)
    )


def avg_pool(x: torch.Tensor, stride: int = 1) -> torch.Tensor:
    return F.avg_pool2d(x, 3, stride=stride, padding=1, count_include_pad=False)


class Cell(nn.Module):
    """What both cell types share: the two previous hidden states brought to F channels."""

    def __init__(
        self, older_channels: int, previous_channels: int, width: int, older_is_larger: bool
    ) -> None:
        super().__init__()
        self.width = width
        self.older = adjust(older_channels, width, older_is_larger)
        self.previous = relu_conv_bn(previous_channels, width)


class NormalCell(Cell):
    """Five combinations of the two adjusted inputs; output 6F channels at the same resolution."""

    def __init__(
        self, older_channels: int, previous_channels: int, width: int, older_is_larger: bool
    ) -> None:
        super().__init__(older_channels, previous_channels, width, older_is_larger)
        self.c0_left, self.c0_right = SeparableBranch(width, 5), SeparableBranch(width, 3)
        self.c1_left, self.c1_right = SeparableBranch(width, 5), SeparableBranch(width, 3)
        self.c4_left = SeparableBranch(width, 3)

    @property
    def out_channels(self) -> int:
        return 6 * self.width

    def forward(self, older: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
        left, right = self.older(older), self.previous(previous)
        c0 = self.c0_left(right) + self.c0_right(left)
        c1 = self.c1_left(left) + self.c1_right(left)
        c2 = avg_pool(right) + left
        c3 = avg_pool(left) + avg_pool(left)  # the paper's cell: two avg-pools of one input
        c4 = self.c4_left(right) + right
        return torch.cat([left, c0, c1, c2, c3, c4], dim=1)


class ReductionCell(Cell):
    """Combinations at stride 2; output 4F channels at half the resolution."""

    def __init__(
        self, older_channels: int, previous_channels: int, width: int, older_is_larger: bool
    ) -> None:
        super().__init__(older_channels, previous_channels, width, older_is_larger)
        self.c0_left, self.c0_right = SeparableBranch(width, 5, 2), SeparableBranch(width, 7, 2)
        self.c1_right = SeparableBranch(width, 7, 2)
        self.c2_right = SeparableBranch(width, 5, 2)
        self.c4_left = SeparableBranch(width, 3)

    @property
    def out_channels(self) -> int:
        return 4 * self.width

    def forward(self, older: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
        left, right = self.older(older), self.previous(previous)
        c0 = self.c0_left(right) + self.c0_right(left)
        c1 = F.max_pool2d(right, 3, 2, 1) + self.c1_right(left)
        c2 = avg_pool(right, 2) + self.c2_right(left)
        c3 = avg_pool(c0) + c1
        c4 = self.c4_left(c0) + F.max_pool2d(right, 3, 2, 1)
        return torch.cat([c1, c2, c3, c4], dim=1)


class NASNet(StagedNetwork):
    """``spec.depths[i]`` normal cells of width ``spec.widths[i]`` in stage i, reduction cells
    between stages."""

    def __init__(self, spec: ArchSpec) -> None:
        super().__init__()
        self.spec = spec
        stem_channels = STEM_MULTIPLIER * spec.widths[0]
        self.stem = nn.Sequential(
            nn.Conv2d(spec.in_channels, stem_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(stem_channels),
        )
        # (channels, resolution divisor) of the two latest hidden states: older, previous
        older = previous = (stem_channels, 1)
        stages = []
        for index, (num_cells, width) in enumerate(zip(spec.depths, spec.widths, strict=True)):
            cells: list[nn.Module] = []
            kinds = ([ReductionCell] if index > 0 else []) + [NormalCell] * num_cells
            for kind in kinds:
                cell = kind(older[0], previous[0], width, older_is_larger=older[1] < previous[1])
                scale = previous[1] * (2 if kind is ReductionCell else 1)
                older, previous = previous, (cell.out_channels, scale)
                cells.append(cell)
            stages.append(nn.ModuleList(cells))
        self.stages = nn.ModuleList(stages)
        self.add_head(previous[0])

    def _run(self, x: torch.Tensor, collect: bool) -> tuple[torch.Tensor, list[torch.Tensor]]:
        older = previous = self.stem(x)
        outputs = []
        for stage in self.stages:
            for cell in stage:
                older, previous = previous, cell(older, previous)
            outputs.append(previous)
        return F.relu(previous), outputs if collect else []

    def forward_stages(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Per stage, its last normal cell's output; the head sees the last one after a ReLU."""
        return self._run(x, collect=True)[1]

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self._run(x, collect=False)[0]
