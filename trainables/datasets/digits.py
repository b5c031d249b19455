"""scikit-learn's digits: 1797 8x8 grey images that ship with the package (the embedded default)."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits

from trainables.datasets.splits import DataSplits, from_train_test, stratified_split


def load(seed: int = 0, val_fraction: float = 0.2, test_fraction: float = 0.2, **_) -> DataSplits:
    """Stratified train/val/test split by ``seed``; pixel values 0..16 are rescaled to 0..255."""
    digits = load_digits()
    images = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)[:, None, :, :]
    labels = digits.target.astype(np.int64)
    x_rest, x_test, y_rest, y_test = stratified_split(images, labels, test_fraction, seed)
    return from_train_test(
        "digits",
        x_rest,
        y_rest,
        x_test,
        y_test,
        10,
        flip_ok=False,
        val_fraction=val_fraction / (1.0 - test_fraction),
        seed=seed,
    )
