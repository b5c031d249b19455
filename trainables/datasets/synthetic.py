"""Synthetic images of any shape: one random template per class plus noise (learnable, for benchmarks)."""

from __future__ import annotations

import numpy as np

from trainables.datasets.splits import DataSplits, from_train_test


def load(
    seed: int = 0,
    val_fraction: float = 0.2,
    image_size: int = 32,
    channels: int = 3,
    num_classes: int = 10,
    num_samples: int = 2000,
    **_,
) -> DataSplits:
    rng = np.random.default_rng(seed)
    templates = rng.uniform(0, 255, size=(num_classes, channels, image_size, image_size))
    labels = np.arange(num_samples) % num_classes
    noise = rng.normal(0, 60, size=(num_samples, channels, image_size, image_size))
    images = np.clip(templates[labels] + noise, 0, 255).astype(np.uint8)
    n_test = num_samples // 5
    return from_train_test(
        "synthetic",
        images[n_test:],
        labels[n_test:],
        images[:n_test],
        labels[:n_test],
        num_classes,
        flip_ok=True,
        val_fraction=val_fraction,
        seed=seed,
    )
