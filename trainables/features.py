"""What the stage-wise method scores: each stage's output features on a fixed set of training images.

Following the authors' code (docs/method.md): the residual sum of the stage's last block
(pre-ReLU), average-pooled to a ceil(H/8) x ceil(W/8) grid (not global pooling), flattened.  On a
32x32 input that is exactly the authors' 8x8/stride-8 pooling: 4x4x16, 2x2x32 and 1x1x64
features.  Where a side is not a multiple of 8 (14x14 and 28x28 Fashion-MNIST stages, 7x7 at
ImageNet's fourth stage) the authors' windows would leave the map's bottom and right edges out
(a 14x14 map kept its top-left 8x8, a third of it); adaptive pooling counts every pixel instead.

A and T of an iteration are scored on the same images (``scoring_sample``: every training image,
as the authors do, or a stratified subset chosen by the search seed only), without augmentation,
normalised as in training, so their scores are comparable.  Features leave the network as float32
(half the bytes through Ray's object store); the criteria compute in float64.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
import torch.nn.functional as F

from trainables.training import ImageBatches

# the authors' window: one feature cell per 8x8 pixels of a stage's map
PAPER_POOL_WINDOW = 8


def scoring_sample(labels: np.ndarray, num_samples: int | None, seed: int) -> np.ndarray:
    """Indices of ``num_samples`` training images, stratified by class; all images when
    ``num_samples`` is ``None`` or not fewer than the images."""
    if num_samples is None or num_samples >= len(labels):
        return np.arange(len(labels))
    # imported here: scikit-learn costs a trial's fresh process 1.7 s, and the default scores
    # every image
    from sklearn.model_selection import train_test_split

    index, _ = train_test_split(
        np.arange(len(labels)), train_size=num_samples, stratify=labels, random_state=seed
    )
    return np.sort(index)


def pooled_grid(height: int, width: int) -> tuple[int, int]:
    """The (h, w) cells a stage's map pools to: one per 8x8 pixels, rounded up, so that no pixel
    is left out and a map of any size keeps at least one cell."""
    return -(-height // PAPER_POOL_WINDOW), -(-width // PAPER_POOL_WINDOW)


def pool_stage_output(output: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> (N, F): average pooling to the ``pooled_grid`` of the map, every pixel
    counted (on sides that are multiples of 8 exactly the authors' 8x8/stride-8 windows),
    flattened as (h, w, c)."""
    height, width = output.shape[-2:]
    grid = pooled_grid(height, width)
    if height % grid[0] == 0 and width % grid[1] == 0:
        # equal windows: the authors' operation itself, so their sizes give their features bit for
        # bit (adaptive pooling sums in another order and differs in the last bit)
        window = (height // grid[0], width // grid[1])
        pooled = F.avg_pool2d(output, kernel_size=window, stride=window)
    else:  # e.g. 15x15 -> 2x2 cells of 8x8 pixels that overlap by one row and column
        pooled = F.adaptive_avg_pool2d(output, grid)
    return pooled.permute(0, 2, 3, 1).flatten(1)


def stage_features(model: torch.nn.Module, data: ImageBatches, batch_size: int = 256) -> list[np.ndarray]:
    """One float32 (N, F_i) matrix per stage, for the images of ``data`` in order, computed
    ``batch_size`` images at a time."""
    return pooled_stage_outputs(model, (x for x, _ in data.batches(batch_size)))


@torch.no_grad()
def pooled_stage_outputs(model: torch.nn.Module, batches: Iterable[torch.Tensor]) -> list[np.ndarray]:
    """One float32 (N, F_i) matrix per stage of ``model`` (its ``forward_stages``), the outputs
    for ``batches`` of images pooled and stacked in order."""
    model.eval()
    per_stage: list[list[torch.Tensor]] = []
    for x in batches:
        outputs = model.forward_stages(x)
        per_stage = per_stage or [[] for _ in outputs]
        for collected, output in zip(per_stage, outputs, strict=True):
            collected.append(pool_stage_output(output.float()).cpu())
    return [torch.cat(collected).numpy() for collected in per_stage]
