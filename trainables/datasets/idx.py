"""MNIST-format IDX files (MNIST, Fashion-MNIST, KMNIST, EMNIST), gzipped or raw.

The folder holds ``*train-images-idx3-ubyte[.gz]``, ``*train-labels-idx1-ubyte[.gz]`` and, when a
test split exists, the same with ``t10k`` or ``test`` instead of ``train`` (EMNIST prefixes names,
e.g. ``emnist-balanced-train-images-idx3-ubyte.gz``).  Debian's ``dataset-fashion-mnist`` puts
Fashion-MNIST in ``/usr/share/datasets/fashion-mnist/``.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from trainables.datasets.errors import DatasetError
from trainables.datasets.splits import DataSplits, from_train_test

IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801


def read_idx(path: Path, expected_magic: int) -> np.ndarray:
    """Read one uint8 IDX file; raises ``DatasetError`` naming the file on a bad header or size."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            data = handle.read()
    except (OSError, EOFError) as error:
        raise DatasetError(f"cannot read IDX file {path}: {error}") from None
    if len(data) < 4:
        raise DatasetError(f"IDX file {path} is truncated ({len(data)} bytes)")
    magic = int.from_bytes(data[:4], "big")
    if magic != expected_magic:
        raise DatasetError(f"IDX file {path} has magic 0x{magic:08x}, expected 0x{expected_magic:08x}")
    ndim = data[3]
    header_bytes = 4 + 4 * ndim
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected_bytes = header_bytes + int(np.prod(shape))
    if len(data) != expected_bytes:
        raise DatasetError(
            f"IDX file {path} holds {len(data)} bytes, its header {shape} says {expected_bytes}"
        )
    return np.frombuffer(data, np.uint8, offset=header_bytes).reshape(shape)


def _find(folder: Path, split_names: tuple[str, ...], kind: str) -> Path | None:
    for split in split_names:
        for pattern in (f"*{split}-{kind}-idx*-ubyte.gz", f"*{split}-{kind}-idx*-ubyte"):
            matches = sorted(folder.glob(pattern))
            if matches:
                return matches[0]
    return None


def _read_pair(folder: Path, split_names: tuple[str, ...]):
    images_path = _find(folder, split_names, "images")
    labels_path = _find(folder, split_names, "labels")
    if images_path is None or labels_path is None:
        return None
    images = read_idx(images_path, IMAGES_MAGIC)
    labels = read_idx(labels_path, LABELS_MAGIC).astype(np.int64)
    if images.ndim != 3:
        raise DatasetError(f"IDX file {images_path} must hold N x H x W images, got shape {images.shape}")
    if len(images) != len(labels):
        raise DatasetError(
            f"{images_path} has {len(images)} images but {labels_path} has {len(labels)} labels"
        )
    if not len(images):
        raise DatasetError(f"IDX file {images_path} holds no images")
    return images[:, None, :, :], labels


def load(
    data_dir: str | None = None, seed: int = 0, val_fraction: float = 0.1, num_classes: int | None = None, **_
) -> DataSplits:
    if not data_dir:
        raise DatasetError(
            "--data-dir is required for dataset 'idx': a folder with "
            "train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz"
        )
    folder = Path(data_dir)
    if not folder.is_dir():
        raise DatasetError(
            f"--data-dir {folder} does not exist: put the MNIST-format IDX files "
            "(train-images-idx3-ubyte.gz, ...) there"
        )
    train = _read_pair(folder, ("train",))
    if train is None:
        raise DatasetError(
            f"--data-dir {folder} has no train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz]"
        )
    test = _read_pair(folder, ("t10k", "test"))
    x_test, y_test = test if test is not None else (None, None)
    classes = num_classes or int(max(train[1].max(), -1 if y_test is None else y_test.max())) + 1
    return from_train_test(
        f"idx:{folder.name}",
        *train,
        x_test,
        y_test,
        classes,
        flip_ok=False,
        val_fraction=val_fraction,
        seed=seed,
    )
