"""Size measures of a network: parameters, multiply-accumulates (MACs) and memory.

- ``params``: trainable parameters (BN running statistics are buffers, so they are not counted).
- ``macs``: multiply-accumulates of one forward pass on one image, counted by torch's
  ``FlopCounterMode`` and halved (one MAC = two FLOPs): the paper's "FLOPs" column
  (docs/method.md, "Measures").
- ``memory_mb``: the float32 weights, i.e. 4 bytes per parameter and per floating-point buffer
  (BN running mean/var), in MB (10^6 bytes).  This is what the saved weights take and what Keras'
  ``count_params`` (which includes BN statistics) times 4 bytes gives for the paper's networks.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

BYTES_PER_MB = 1e6


def count_parameters(model: nn.Module) -> int:
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


def memory_mb(model: nn.Module) -> float:
    """MB of the float32 weights: parameters plus floating-point buffers, 4 bytes each."""
    tensors = [*model.parameters(), *(b for b in model.buffers() if b.is_floating_point())]
    return sum(t.numel() for t in tensors) * 4 / BYTES_PER_MB
