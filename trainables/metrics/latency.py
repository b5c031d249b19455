"""CPU inference latency: what a user of the found network on a CPU waits for one image.

``cpu_latency_ms``: batch 1, a float32 NCHW copy of the network on the CPU in eval mode, ``threads``
torch threads (1 by default, so trials running side by side do not disturb each other and numbers
compare across machines of different core counts), median over ``repeats`` timed runs after
``warmup`` untimed ones, in milliseconds.
"""

from __future__ import annotations

import copy
import statistics
import time

import torch
from torch import nn


@torch.no_grad()
def cpu_latency_ms(
    model: nn.Module, in_channels: int, image_size: int, threads: int = 1, warmup: int = 5, repeats: int = 30
) -> float:
    cpu_model = copy.deepcopy(model).float().cpu().eval()
    cpu_model = cpu_model.to(memory_format=torch.contiguous_format)
    image = torch.randn(1, in_channels, image_size, image_size)
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for _ in range(warmup):
            cpu_model(image)
        timings = []
        for _ in range(repeats):
            started = time.perf_counter()
            cpu_model(image)
            timings.append((time.perf_counter() - started) * 1000.0)
    finally:
        torch.set_num_threads(previous_threads)
    return statistics.median(timings)
