"""Data sets by name.  Every loader returns ``DataSplits`` (uint8 images in memory) or raises
``DatasetError`` with a message that names the bad path or value and says what to put there.

Loaders are named by import path and imported when used: checking a name costs nothing, and
loading digits never imports torchvision.
"""

from __future__ import annotations

from pkgutil import resolve_name

from trainables.datasets.errors import DatasetError

LOADERS: dict[str, str] = {
    "digits": "trainables.datasets.digits:load",
    "synthetic": "trainables.datasets.synthetic:load",
    "cifar10": "trainables.datasets.cifar:load_cifar10",
    "cifar100": "trainables.datasets.cifar:load_cifar100",
    "idx": "trainables.datasets.idx:load",
    "imagefolder": "trainables.datasets.imagefolder:load",
    "tinyimagenet": "trainables.datasets.tinyimagenet:load",
    "imagenet32": "trainables.datasets.imagenet32:load",
    "npz": "trainables.datasets.npz:load",
}


def load_dataset(name: str, **options):
    """Load a data set by name; ``options`` are the loader's keywords (data_dir, seed, image_size...)."""
    if name not in LOADERS:
        raise DatasetError(f"--dataset {name!r} is not one of {', '.join(LOADERS)}")
    return resolve_name(LOADERS[name])(**options)


__all__ = ["DatasetError", "LOADERS", "load_dataset"]
