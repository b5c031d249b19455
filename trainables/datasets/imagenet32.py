"""Downsampled ImageNet (Chrabaszcz, Loshchilov and Hutter, 2017): ImageNet32, also 16 and 64.

The official archives unpack to ``train_data_batch_1..10`` and ``val_data`` (anywhere below
``--data-dir``): pickled dicts with ``data`` (N rows of 3 x s x s uint8, RGB planes), ``labels``
(1..1000, one-based) and ``mean``; the ``_npz`` archives hold the same as
``train_data_batch_1.npz``...``val_data.npz``.  The side s follows from the row length.  ``val_data`` is our
test split (the search never sees it); validation is held out of train.  Read with the
data-only unpickler (``safe_pickle``).
"""

from __future__ import annotations

import math
import pickle
import zipfile
from pathlib import Path

import numpy as np

from trainables.datasets.errors import DatasetError
from trainables.datasets.safe_pickle import load_data_pickle
from trainables.datasets.splits import DataSplits, checked_labels, from_train_test

NUM_CLASSES = 1000


def _read(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        if path.suffix == ".npz":
            batch = dict(np.load(path, allow_pickle=False))
        else:
            batch = load_data_pickle(path, encoding="latin1")
        data = np.asarray(batch["data"], dtype=np.uint8)
        labels = checked_labels(str(path), "its", batch["labels"]) - 1
    except (
        OSError,
        pickle.UnpicklingError,
        KeyError,
        EOFError,
        TypeError,
        ValueError,
        zipfile.BadZipFile,
    ) as error:
        raise DatasetError(f"{path} is not a downsampled-ImageNet batch: {error!r}") from None
    side = math.isqrt(data.shape[1] // 3) if data.ndim == 2 else 0
    if data.ndim != 2 or 3 * side * side != data.shape[1] or len(data) != len(labels):
        raise DatasetError(
            f"{path} must hold N rows of 3 x s x s pixels and N labels, got "
            f"{data.shape} and {len(labels)} labels"
        )
    if labels.min() < 0 or labels.max() >= NUM_CLASSES:
        raise DatasetError(
            f"{path}: labels must be in [1, {NUM_CLASSES}], got {labels.min() + 1}..{labels.max() + 1}"
        )
    return data.reshape(-1, 3, side, side), labels


def _batch_number(path: Path) -> int | None:
    """1 for ``train_data_batch_1`` or ``train_data_batch_1.npz``; None for other files."""
    number = path.name.removesuffix(".npz").rsplit("_", 1)[-1]
    return int(number) if number.isdigit() else None


def load(data_dir: str | None = None, seed: int = 0, val_fraction: float = 0.05, **_) -> DataSplits:
    if not data_dir:
        raise DatasetError(
            "--data-dir is required for dataset 'imagenet32': the folder holding "
            "train_data_batch_1..10 and val_data"
        )
    root = Path(data_dir)
    if not root.is_dir():
        raise DatasetError(
            f"--data-dir {root} does not exist: unpack Imagenet32_train and Imagenet32_val there"
        )
    train_files = sorted(
        (path for path in root.rglob("train_data_batch_*") if _batch_number(path) is not None),
        key=_batch_number,
    )
    if not train_files:
        raise DatasetError(f"--data-dir {root} has no train_data_batch_* files")
    train = [_read(path) for path in train_files]
    x_train = np.concatenate([x for x, _ in train])
    y_train = np.concatenate([y for _, y in train])
    val_files = sorted([*root.rglob("val_data"), *root.rglob("val_data.npz")])
    x_test, y_test = _read(val_files[0]) if val_files else (None, None)
    if x_test is not None and x_test.shape[1:] != x_train.shape[1:]:
        raise DatasetError(
            f"{val_files[0]} holds {x_test.shape[-1]}px images, the train batches {x_train.shape[-1]}px"
        )
    return from_train_test(
        f"imagenet{x_train.shape[-1]}",
        x_train,
        y_train,
        x_test,
        y_test,
        NUM_CLASSES,
        flip_ok=True,
        val_fraction=val_fraction,
        seed=seed,
    )
