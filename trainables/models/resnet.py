"""CIFAR-style residual networks whose stages have independent depths.

Follows the authors' Keras "ResNet v1" (docs/method.md, "Networks and training"): stem conv3x3-BN-ReLU (the
ImageNet stem above 32x32, ``stem_for``); basic
block conv-BN-ReLU-conv-BN, add, ReLU; the first block of stages 2..S halves the resolution and uses
a 1x1 projection shortcut (no BN, as in the authors' code); global average pooling and a linear head.

What the stage scorer sees is the residual sum of each stage's last block before its ReLU
(``trainables.models.staged``).
"""

from __future__ import annotations

import torch
from torch import nn

from trainables.models.staged import StagedNetwork, stem_for
from trainables.spec import ArchSpec


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection; ``stride=2`` downsamples."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Conv2d(in_channels, out_channels, 1, stride=stride)

    def forward_residual_sum(self, x: torch.Tensor) -> torch.Tensor:
        """The block's output before the final ReLU: what the stage scorer sees."""
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return out + self.shortcut(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.forward_residual_sum(x))


class StageResNet(StagedNetwork):
    """A residual network with ``spec.depths[i]`` basic blocks in stage ``i``."""

    def __init__(self, spec: ArchSpec) -> None:
        super().__init__()
        self.spec = spec
        stem_width = spec.widths[0]
        self.stem = stem_for(spec.in_channels, stem_width, spec.image_size)
        stages = []
        in_channels = stem_width
        for index, (num_blocks, width) in enumerate(zip(spec.depths, spec.widths, strict=True)):
            first_stride = 1 if index == 0 else 2
            blocks = [BasicBlock(in_channels, width, first_stride)]
            blocks += [BasicBlock(width, width) for _ in range(num_blocks - 1)]
            stages.append(nn.Sequential(*blocks))
            in_channels = width
        self.stages = nn.ModuleList(stages)
        self.add_head(in_channels)
        self._init_weights()

    def _init_weights(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
