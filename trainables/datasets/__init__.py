"""Data sets by name.  Every loader returns ``DataSplits`` (uint8 images in memory) or raises
``DatasetError`` with a message that names the bad path or value and says what to put there."""

from __future__ import annotations

from functools import partial
from typing import Callable

from trainables.datasets import cifar, digits, idx, imagefolder, synthetic
from trainables.datasets.splits import DataSplits, DatasetError

LOADERS: dict[str, Callable[..., DataSplits]] = {
    "digits": digits.load,
    "synthetic": synthetic.load,
    "cifar10": partial(cifar.load, "cifar10"),
    "cifar100": partial(cifar.load, "cifar100"),
    "idx": idx.load,
    "imagefolder": imagefolder.load,
}


def load_dataset(name: str, **options) -> DataSplits:
    """Load a data set by name; ``options`` are the loader's keywords (data_dir, seed, image_size...)."""
    if name not in LOADERS:
        raise DatasetError(f"--dataset {name!r} is not one of {', '.join(LOADERS)}")
    return LOADERS[name](**options)


__all__ = ["DataSplits", "DatasetError", "LOADERS", "load_dataset"]
