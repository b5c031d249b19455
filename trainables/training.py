"""The training protocol: presets, the epoch loop and evaluation, free of Ray.

Data stays as uint8 tensors; each batch is converted, normalised with the training set's
per-channel mean and std, and augmented (crop with padding, flip where it keeps the label) in one
batched step, so the same loop runs on CPU and GPU.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from trainables.augment import random_crop, random_flip


@dataclass(frozen=True)
class TrainingConfig:
    """SGD with momentum and a step schedule: lr is divided by ``lr_gamma`` at ``milestones``
    (fractions of ``epochs``).  Weight decay applies to conv and linear weights only (the authors'
    Keras L2 of 1e-4 on kernels is weight decay 2e-4)."""

    epochs: int
    lr: float
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 2e-4
    batch_size: int = 128
    milestones: tuple[float, ...] = (0.5, 0.75)
    lr_gamma: float = 10.0

    def to_dict(self) -> dict:
        return asdict(self)


PRESETS: dict[str, TrainingConfig] = {
    # The paper: lr 0.01, /10 at epochs 100 and 150 of 200, batch 128, crop + flip.
    "paper": TrainingConfig(epochs=200, lr=0.01, batch_size=128),
    # Ours: short runs for laptops and tests, same schedule shape, a larger lr to converge fast.
    "quick": TrainingConfig(epochs=10, lr=0.02, batch_size=64, weight_decay=5e-4),
}


def crop_padding_for(image_size: int) -> int:
    """4 pixels at 32x32 (the paper), scaled to the image size, at least 1."""
    return max(1, round(image_size / 8))


class ImageBatches:
    """uint8 images and labels on a device, served as normalised (optionally augmented) batches."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, mean: torch.Tensor,
                 std: torch.Tensor, device: torch.device) -> None:
        self.images = torch.tensor(images, device=device)
        self.labels = torch.tensor(labels, device=device)
        self.mean = mean.to(device)[None, :, None, None]
        self.std = std.to(device)[None, :, None, None]

    def sibling(self, images: np.ndarray, labels: np.ndarray) -> "ImageBatches":
        """Other images served with this set's normalisation and device (val/test/scoring)."""
        return ImageBatches(images, labels, self.mean.flatten(), self.std.flatten(),
                            self.images.device)

    def __len__(self) -> int:
        return len(self.labels)

    def normalise(self, images: torch.Tensor) -> torch.Tensor:
        return (images.float() / 255.0 - self.mean) / self.std

    def batches(self, batch_size: int, generator: torch.Generator | None = None,
                augment_padding: int = 0, flip: bool = False):
        """Yield (x, y); with a generator the order is shuffled and the batch augmented."""
        if generator is None:
            order = torch.arange(len(self), device=self.labels.device)
        else:
            order = torch.randperm(len(self), generator=generator,
                                   device=generator.device).to(self.labels.device)
        for start in range(0, len(self), batch_size):
            index = order[start:start + batch_size]
            x = self.normalise(self.images[index])
            if generator is not None:
                x = random_crop(x, augment_padding, generator)
                if flip:
                    x = random_flip(x, generator)
            yield x, self.labels[index]


def channel_stats(images: np.ndarray, chunk: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and std of uint8 (N, C, H, W) images, in [0, 1] units.

    Accumulated over chunks of images so that a CIFAR-sized set never exists as float64 at once.
    """
    total = np.zeros(images.shape[1])
    total_squares = np.zeros(images.shape[1])
    for start in range(0, len(images), chunk):
        block = images[start:start + chunk].astype(np.float64) / 255.0
        total += block.sum(axis=(0, 2, 3))
        total_squares += np.square(block).sum(axis=(0, 2, 3))
    count = images.shape[0] * images.shape[2] * images.shape[3]
    mean = total / count
    std = np.sqrt(np.maximum(total_squares / count - mean ** 2, 1e-6))
    return torch.tensor(mean, dtype=torch.float32), torch.tensor(std, dtype=torch.float32)


def make_optimizer(model: nn.Module, config: TrainingConfig) -> torch.optim.SGD:
    decayed = [p for n, p in model.named_parameters() if p.ndim > 1]
    others = [p for n, p in model.named_parameters() if p.ndim <= 1]
    return torch.optim.SGD(
        [{"params": decayed, "weight_decay": config.weight_decay},
         {"params": others, "weight_decay": 0.0}],
        lr=config.lr, momentum=config.momentum, nesterov=config.nesterov,
    )


def learning_rate(config: TrainingConfig, epoch: int) -> float:
    """lr of 0-based ``epoch``: divided by ``lr_gamma`` once for every milestone passed."""
    passed = sum(epoch >= round(fraction * config.epochs) for fraction in config.milestones)
    return config.lr / config.lr_gamma ** passed


def train_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, data: ImageBatches,
                config: TrainingConfig, epoch: int, generator: torch.Generator,
                flip: bool) -> float:
    """One pass over the training data; returns the mean loss."""
    for group in optimizer.param_groups:
        group["lr"] = learning_rate(config, epoch)
    model.train()
    total_loss, total_count = 0.0, 0
    padding = crop_padding_for(data.images.shape[-1])
    for x, y in data.batches(config.batch_size, generator, padding, flip):
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(y)
        total_count += len(y)
    return total_loss / total_count


@torch.no_grad()
def evaluate(model: nn.Module, data: ImageBatches, batch_size: int = 512) -> float:
    """Top-1 accuracy in [0, 1]."""
    model.eval()
    correct = 0
    for x, y in data.batches(batch_size):
        correct += (model(x).argmax(1) == y).sum().item()
    return correct / len(data)
