"""Pickled data files (CIFAR, downsampled ImageNet) loaded without running code from them."""

from __future__ import annotations

import pickle
from pathlib import Path


class DataOnlyUnpickler(pickle.Unpickler):
    """Rebuilds dicts, lists, bytes and numpy arrays, nothing else: unpickling can run any code
    a file names, and a downloaded data file must not run code."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a data file")
        return super().find_class(module, name)


def load_data_pickle(path: Path, encoding: str = "bytes"):
    """The object in a pickled data file; ``encoding="bytes"`` reads Python 2 pickles (CIFAR)."""
    with open(path, "rb") as handle:
        return DataOnlyUnpickler(handle, encoding=encoding).load()
