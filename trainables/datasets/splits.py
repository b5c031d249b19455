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
        shapes = {}
        for split in ("train", "val", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if x is None:
                continue
            if x.dtype != np.uint8 or x.ndim != 4:
                raise DatasetError(
                    f"{self.name}: {split} images must be uint8 (N, C, H, W), got {x.dtype} {x.shape}"
                )
            if len(x) != len(y):
                raise DatasetError(f"{self.name}: {split} has {len(x)} images but {len(y)} labels")
            if len(y) and (y.min() < 0 or y.max() >= self.num_classes):
                raise DatasetError(
                    f"{self.name}: {split} labels must be in [0, {self.num_classes - 1}]"
                    f", found {int(y.min())}..{int(y.max())}"
                )
            if split != "val" and not len(y):  # an empty validation split is --val-fraction 0
                raise DatasetError(f"{self.name}: the {split} split has no images")
            shapes[split] = "x".join(map(str, x.shape[1:]))
        if len(set(shapes.values())) > 1:
            raise DatasetError(
                f"{self.name}: every split must hold images of one shape (C x H x "
                f"W), got {', '.join(f'{k} {v}' for k, v in shapes.items())}"
            )
        if self.x_train.shape[2] != self.x_train.shape[3]:
            raise DatasetError(f"{self.name}: images must be square, got {self.x_train.shape[2:]}")
        check_classes(self.name, np.concatenate([self.y_train, self.y_val]), self.num_classes)

    @property
    def in_channels(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def image_size(self) -> int:
        return int(self.x_train.shape[2])

    def with_train_subset(self, num_images: int, seed: int) -> DataSplits:
        """Keep a stratified ``num_images`` of the training split (quick experiments on big sets);
        validation and test stay whole."""
        if num_images >= len(self.y_train):
            return self
        # the split of the indices, not of the images: only the kept images are copied (the
        # rest may be a memory-mapped file larger than memory); the same images as splitting
        # the arrays themselves, which shuffles every array with the same permutation
        kept, _, y_train, _ = stratified_split(
            np.arange(len(self.y_train)), self.y_train, 1 - num_images / len(self.y_train), seed
        )
        return replace(self, x_train=self.x_train[kept], y_train=y_train)

    def with_val_fraction(self, fraction: float, seed: int) -> DataSplits:
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
        return (
            f"{self.name}: {self.in_channels}x{self.image_size}x{self.image_size}, "
            f"{self.num_classes} classes, {sizes}"
        )


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


def checked_labels(name: str, split: str, labels) -> np.ndarray:
    """``labels`` as int64, refusing what a cast would silently change: fractions, NaN, text."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise DatasetError(f"{name}: {split} labels must be one integer per image, got shape {labels.shape}")
    if labels.dtype.kind == "f":
        fractional = labels[~np.isfinite(labels) | (labels != np.round(labels))]
        if len(fractional):
            raise DatasetError(f"{name}: {split} labels must be integers, found {fractional[0]}")
    elif labels.dtype.kind not in "iu":
        raise DatasetError(f"{name}: {split} labels must be integers, got {labels.dtype}")
    return labels.astype(np.int64)


def check_classes(name: str, labels: np.ndarray, num_classes: int) -> None:
    """Labels ``0..num_classes-1`` with images of every class among ``labels`` (the training
    images): a label such as 254 among {0, 127, 254} would otherwise give a 255-way head whose
    unseen classes only cost accuracy, and a label of 10**12 a head of that size."""
    if not len(labels):
        raise DatasetError(f"{name}: the training split has no images")
    if num_classes < 2:
        raise DatasetError(f"{name}: {num_classes} class; a classifier needs at least 2")
    if labels.min() < 0 or labels.max() >= num_classes:
        raise DatasetError(
            f"{name}: labels must be in [0, {num_classes - 1}], found "
            f"{int(labels.min())}..{int(labels.max())}"
        )
    present = set(np.unique(labels).tolist())
    if len(present) < num_classes:
        missing = [k for k in range(min(num_classes, len(present) + 3)) if k not in present]
        raise DatasetError(
            f"{name}: labels must be 0..{num_classes - 1} with training images of "
            f"every class; {len(present)} of the {num_classes} classes have some "
            f"(none of {', '.join(map(str, missing))}...)"
        )


def from_train_test(
    name: str,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray | None,
    y_test: np.ndarray | None,
    num_classes: int,
    flip_ok: bool,
    val_fraction: float,
    seed: int,
) -> DataSplits:
    """Hold a stratified validation split out of train (the paper's data sets have none)."""
    y_train = checked_labels(name, "train", y_train)
    y_test = None if y_test is None else checked_labels(name, "test", y_test)
    check_classes(name, y_train, num_classes)
    if len(y_train) < 2 * num_classes:
        raise DatasetError(f"{name}: {len(y_train)} training images are too few for {num_classes} classes")
    x_fit, x_val, y_fit, y_val = stratified_split(x_train, y_train, val_fraction, seed)
    return DataSplits(name, x_fit, y_fit, x_val, y_val, x_test, y_test, num_classes, flip_ok)
