"""Size measures of an architecture: parameters and multiply-accumulates (MACs).

MACs are counted by torch's ``FlopCounterMode`` on one input image and halved (one MAC = two
FLOPs), which is how the paper's "FLOPs" column is defined (METHOD_NOTES.md section 6).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from trainables.models import build_model
from trainables.spec import ArchSpec


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters (BN running statistics are buffers, so they are not counted)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_macs(model: nn.Module, in_channels: int, image_size: int) -> int:
    """MACs of one forward pass on one ``in_channels x image_size x image_size`` image."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    image = torch.zeros(1, in_channels, image_size, image_size, device=device)
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(image)
    model.train(was_training)
    return counter.get_total_flops() // 2


def describe_spec(spec: ArchSpec) -> dict:
    """Parameters, MACs and depth of the network a spec describes."""
    model = build_model(spec)
    return {
        "depths": spec.depths_text,
        "depth": spec.depth,
        "params": count_parameters(model),
        "macs": count_macs(model, spec.in_channels, spec.image_size),
    }
