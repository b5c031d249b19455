"""CIFAR-10/100 in the python-pickle layout that torchvision and the official tarballs use.

``--data-dir`` is the folder that holds ``cifar-10-batches-py/`` (``data_batch_1..5``,
``test_batch``) or ``cifar-100-python/`` (``train``, ``test``), or that folder itself.  Nothing
is ever downloaded.  The batches are read directly instead of through ``torchvision.datasets``
because torchvision insists on the official md5 sums, which rules out subsets and test fixtures.
"""

from __future__ import annotations

import pickle
from functools import partial
from pathlib import Path

import numpy as np

from trainables.datasets.errors import DatasetError
from trainables.datasets.safe_pickle import load_data_pickle
from trainables.datasets.splits import DataSplits, checked_labels, from_train_test

LAYOUTS = {
    "cifar10": ("cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)], "test_batch", b"labels", 10),
    "cifar100": ("cifar-100-python", ["train"], "test", b"fine_labels", 100),
}


def _read_batch(path: Path, label_key: bytes) -> tuple[np.ndarray, np.ndarray]:
    try:
        batch = load_data_pickle(path)
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = checked_labels(f"CIFAR batch {path}", "its", batch[label_key])
    except (OSError, pickle.UnpicklingError, KeyError, EOFError, TypeError, ValueError) as error:
        raise DatasetError(f"CIFAR batch {path} is not a CIFAR python pickle: {error!r}") from None
    if data.ndim != 2 or data.shape[1] != 3072 or len(data) != len(labels):
        raise DatasetError(
            f"CIFAR batch {path} must hold N x 3072 rows with N labels, got "
            f"{data.shape} and {len(labels)} labels"
        )
    return data.reshape(-1, 3, 32, 32), labels


def load(name: str, data_dir: str | None = None, seed: int = 0, val_fraction: float = 0.1, **_) -> DataSplits:
    folder_name, train_files, test_file, label_key, num_classes = LAYOUTS[name]
    if not data_dir:
        raise DatasetError(
            f"--data-dir is required for dataset {name!r}: the folder holding "
            f"{folder_name}/ (the CIFAR python version; nothing is downloaded)"
        )
    root = Path(data_dir)
    folder = root if root.name == folder_name else root / folder_name
    if not folder.is_dir():
        raise DatasetError(
            f"--data-dir {root} has no {folder_name}/: extract the CIFAR python "
            f"version there (e.g. {folder_name}/{train_files[0]}, {test_file})"
        )
    missing = [f for f in [*train_files, test_file] if not (folder / f).is_file()]
    if missing:
        raise DatasetError(f"{folder} lacks {', '.join(missing)}")
    train = [_read_batch(folder / f, label_key) for f in train_files]
    x_test, y_test = _read_batch(folder / test_file, label_key)
    x_train = np.concatenate([x for x, _ in train])
    y_train = np.concatenate([y for _, y in train])
    return from_train_test(
        name,
        x_train,
        y_train,
        x_test,
        y_test,
        num_classes,
        flip_ok=True,
        val_fraction=val_fraction,
        seed=seed,
    )


load_cifar10 = partial(load, "cifar10")
load_cifar100 = partial(load, "cifar100")
