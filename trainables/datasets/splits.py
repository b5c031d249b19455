"""The in-memory form every loader returns, and the seeded stratified splitting they share."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from trainables.datasets.errors import DatasetError


@dataclass
class DataSplits:
    """Images as uint8 ``(N, C, H, W)`` arrays with int64 labels, split into train/val/test.

    uint8 keeps the object store and GPU copies 4x smaller than float; trainers normalise on the fly.
    ``flip_ok`` says whether a horizontal flip keeps the label (true for photos, false for digits).
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray | None
    y_test: np.ndarray | None
    num_classes: int
    flip_ok: bool

    def __post_init__(self) -> None:
        for split in ("train", "val", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if x is None:
                continue
            if x.dtype != np.uint8 or x.ndim != 4:
                raise DatasetError(f"{self.name}: {split} images must be uint8 (N, C, H, W), got "
                                   f"{x.dtype} {x.shape}")
            if len(x) != len(y):
                raise DatasetError(f"{self.name}: {split} has {len(x)} images but {len(y)} labels")
            if len(y) and (y.min() < 0 or y.max() >= self.num_classes):
                raise DatasetError(f"{self.name}: {split} labels must be in [0, {self.num_classes - 1}]"
                                   f", found {int(y.min())}..{int(y.max())}")
        if self.x_train.shape[2] != self.x_train.shape[3]:
            raise DatasetError(f"{self.name}: images must be square, got {self.x_train.shape[2:]}")

    @property
    def in_channels(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def image_size(self) -> int:
        return int(self.x_train.shape[2])

    def with_train_subset(self, num_images: int, seed: int) -> "DataSplits":
        """Keep a stratified ``num_images`` of the training split (quick experiments on big sets);
        validation and test stay whole."""
        if num_images >= len(self.y_train):
            return self
        x_train, _, y_train, _ = stratified_split(self.x_train, self.y_train,
                                                  1 - num_images / len(self.y_train), seed)
        return replace(self, x_train=x_train, y_train=y_train)

    def with_val_fraction(self, fraction: float, seed: int) -> "DataSplits":
        """Train and validation joined again and split with ``fraction`` held out for validation
        (stratified, deterministic in ``seed``); 0 trains on all of them, as the paper's authors
        did, with an empty validation split.  The test split is untouched."""
        x = np.concatenate([self.x_train, self.x_val])
        y = np.concatenate([self.y_train, self.y_val])
        if fraction == 0:
            return replace(self, x_train=x, y_train=y, x_val=x[:0], y_val=y[:0])
        x_train, x_val, y_train, y_val = stratified_split(x, y, fraction, seed)
        return replace(self, x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val)

    def summary(self) -> str:
        sizes = f"train {len(self.y_train)}, val {len(self.y_val)}"
        if self.y_test is not None:
            sizes += f", test {len(self.y_test)}"
        return (f"{self.name}: {self.in_channels}x{self.image_size}x{self.image_size}, "
                f"{self.num_classes} classes, {sizes}")


def stratified_split(x: np.ndarray, y: np.ndarray, fraction: float, seed: int):
    """Split off ``fraction`` of the samples with the class balance kept; deterministic in seed.

    The held-out part gets at least one image per class; classes with a single image make
    stratification impossible, and then the split is uniformly random instead.
    """
    counts = np.bincount(y)
    present = int((counts > 0).sum())
    held_out = min(max(int(round(fraction * len(y))), present), len(y) - present)
    stratify = y if counts[counts > 0].min() >= 2 and held_out >= present else None
    # imported here: scikit-learn takes ~2 s to import, and a missing data folder should be
    # reported before that
    from sklearn.model_selection import train_test_split

    return train_test_split(x, y, test_size=held_out, stratify=stratify, random_state=seed)


def from_train_test(name: str, x_train: np.ndarray, y_train: np.ndarray,
                    x_test: np.ndarray | None, y_test: np.ndarray | None, num_classes: int,
                    flip_ok: bool, val_fraction: float, seed: int) -> DataSplits:
    """Hold a stratified validation split out of train (the paper's data sets have none)."""
    if len(y_train) < 2 * num_classes:
        raise DatasetError(f"{name}: {len(y_train)} training images are too few for {num_classes} classes")
    x_fit, x_val, y_fit, y_val = stratified_split(x_train, y_train, val_fraction, seed)
    return DataSplits(name, x_fit, y_fit.astype(np.int64), x_val, y_val.astype(np.int64), x_test,
                      None if y_test is None else y_test.astype(np.int64), num_classes, flip_ok)
