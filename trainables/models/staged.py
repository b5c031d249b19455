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
