"""What every stage-wise network shares: stem, stages of modules, pooling and a linear head.

The stage-wise method scores each stage's last module's output *before* its final activation
(the authors' ``Add`` layer for residual blocks).  Every module type therefore provides
``forward_residual_sum(x)`` beside ``forward(x)``, and ``forward_stages`` returns exactly those
tensors: no hooks needed.
"""

from __future__ import annotations

import torch
from torch import nn

from trainables.spec import ArchSpec

SMALL_IMAGE_SIZE = 32


def stem_for(in_channels: int, width: int, image_size: int) -> nn.Sequential:
    """torchvision's ImageNet stem (7x7/2 conv, 3x3/2 max pool) above 32x32; the CIFAR 3x3 conv
    at 32x32 and below, where a /4 stem would leave too little resolution for the stages."""
    if image_size > SMALL_IMAGE_SIZE:
        return nn.Sequential(
            nn.Conv2d(in_channels, width, 7, stride=2, padding=3, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, stride=2, padding=1),
        )
    return nn.Sequential(
        nn.Conv2d(in_channels, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True)
    )


class StagedNetwork(nn.Module):
    """Subclasses set ``self.stem`` and ``self.stages`` (an ``nn.ModuleList`` of
    ``nn.Sequential`` stages), then call ``self.add_head(channels)``."""

    spec: ArchSpec
    stem: nn.Module
    stages: nn.ModuleList

    def add_head(self, in_channels: int) -> None:
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(in_channels, self.spec.num_classes)

    def forward_stages(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Per stage, its last module's output before the final ReLU; the last feeds the head."""
        x = self.stem(x)
        stage_outputs = []
        for stage in self.stages:
            for module in stage[:-1]:
                x = module(x)
            residual_sum = stage[-1].forward_residual_sum(x)
            stage_outputs.append(residual_sum)
            x = torch.relu(residual_sum)
        return stage_outputs

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for stage in self.stages:
            x = stage(x)
        return x

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.flatten(self.pool(x), 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))
