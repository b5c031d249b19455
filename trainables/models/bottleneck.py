"""ImageNet-style residual networks of bottleneck blocks whose stages have independent depths.

The blocks are torchvision's ``Bottleneck`` (1x1 reduce, 3x3, 1x1 expand x4, stride on the 3x3,
a 1x1 conv + BN projection where the shape changes), so depths 3-4-6-3 at 224x224 with 1000
classes are torchvision's ResNet-50, parameter for parameter (``stem_for`` picks the stem).
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models.resnet import Bottleneck as TorchvisionBottleneck

from trainables.models.staged import StagedNetwork, stem_for
from trainables.spec import ArchSpec


class Bottleneck(TorchvisionBottleneck):
    """torchvision's block, plus the output before the final ReLU for the stage scorer."""

    def forward_residual_sum(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return out + identity


class BottleneckResNet(StagedNetwork):
    """``spec.depths[i]`` bottleneck blocks of ``spec.widths[i]`` (x4 out) channels in stage i."""

    def __init__(self, spec: ArchSpec) -> None:
        super().__init__()
        self.spec = spec
        in_channels = spec.widths[0]
        self.stem = stem_for(spec.in_channels, in_channels, spec.image_size)
        stages = []
        for index, (num_blocks, width) in enumerate(zip(spec.depths, spec.widths, strict=True)):
            stride = 1 if index == 0 else 2
            out_channels = width * Bottleneck.expansion
            downsample = None
            if stride != 1 or in_channels != out_channels:
                downsample = nn.Sequential(
                    nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                    nn.BatchNorm2d(out_channels),
                )
            blocks = [Bottleneck(in_channels, width, stride, downsample)]
            blocks += [Bottleneck(out_channels, width) for _ in range(num_blocks - 1)]
            stages.append(nn.Sequential(*blocks))
            in_channels = out_channels
        self.stages = nn.ModuleList(stages)
        self.add_head(in_channels)
        self._init_weights()

    def _init_weights(self) -> None:
        """torchvision's ResNet initialisation."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
