"""Data sets by name.  Every loader returns ``DataSplits`` (uint8 images in memory) or raises
``DatasetError`` with a message that names the bad path or value and says what to put there.

Loaders are named by import path and imported when used: checking a name costs nothing, and
loading digits never imports torchvision.  A user's own loader is given by its import path.
"""

from __future__ import annotations

import inspect
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
    "mapped": "trainables.datasets.mapped:load",
}


# options a user sets by flag, which a loader that does not name them would silently ignore
FLAG_OPTIONS = {"data_dir": "--data-dir", "image_size": "--image-size"}


def loader(name: str):
    """The loader of data set ``name``: a built-in one, or a user's function given by its import
    path ``package.module:function``, called as ``function(seed=.., data_dir=.., ...)`` and
    returning ``DataSplits``.  ``DatasetError`` naming the problem otherwise."""
    if name not in LOADERS and ":" not in name:
        raise DatasetError(
            f"--dataset {name!r}: must be one of {', '.join(LOADERS)} or an import "
            "path package.module:function"
        )
    try:
        found = resolve_name(LOADERS.get(name, name))
    except (ImportError, AttributeError, ValueError) as error:
        raise DatasetError(f"--dataset {name!r}: cannot be imported ({error})") from None
    if not callable(found):
        raise DatasetError(f"--dataset {name!r}: is not a function")
    return found


def loader_options(name: str) -> set[str]:
    """The keywords the loader of data set ``name`` names (e.g. ``image_size``)."""
    parameters = inspect.signature(loader(name)).parameters
    return {key for key, p in parameters.items() if p.kind is not p.VAR_KEYWORD}


def load_dataset(name: str, **options):
    """Load a data set by name; ``options`` are the loader's keywords (data_dir, seed, image_size...).

    A ``data_dir`` or ``image_size`` given to a loader that does not take it is an error, not a
    no-op: digits has no files to point at, and CIFAR or IDX images keep their native size."""
    load = loader(name)
    named = loader_options(name)
    for key, flag in FLAG_OPTIONS.items():
        if options.get(key) is not None and named and key not in named:
            why = "it has no files to read" if key == "data_dir" else "its images keep their size"
            raise DatasetError(f"{flag} {options[key]}: the {name} data set does not take it ({why})")
    return load(**options)


__all__ = ["DatasetError", "LOADERS", "load_dataset", "loader", "loader_options"]
