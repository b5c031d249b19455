"""What every benchmark records: the machine and library versions it ran on, and its numbers as
JSON (the files in ``benchmarks/results/`` that docs/performance.md quotes)."""

from __future__ import annotations

import ctypes
import datetime
import json
import mmap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import ray
import torch


def environment(device: torch.device) -> dict:
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    return {"device": name, "torch": torch.__version__, "date": datetime.date.today().isoformat()}


def write_json(path: str | None, result: dict) -> None:
    """Write ``result`` to ``path`` (folders created) when a path is given."""
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(result, indent=2) + "\n")


@contextmanager
def local_ray(**options) -> Iterator[None]:
    """A local Ray for the block, unless one already runs in this process (the test suite's):
    that one is used and left running."""
    if ray.is_initialized():
        yield
        return
    ray.init(address="local", log_to_driver=False, **options)
    try:
        yield
    finally:
        ray.shutdown()


def resident_mb(folder: Path) -> float:
    """How much of the ``.npy`` files in ``folder`` is in memory now (Linux ``mincore`` over a
    fresh read-only map, which touches no page)."""
    mincore = ctypes.CDLL(None, use_errno=True).mincore
    resident = 0
    for path in folder.glob("*.npy"):
        mapped = np.memmap(path, mode="r")  # offset 0: the array starts at the map's first page
        pages = (mapped.nbytes + mmap.PAGESIZE - 1) // mmap.PAGESIZE
        vector = (ctypes.c_ubyte * pages)()
        if mincore(ctypes.c_void_p(mapped.ctypes.data), ctypes.c_size_t(mapped.nbytes), vector):
            raise OSError(ctypes.get_errno(), f"mincore failed on {path}")
        resident += sum(byte & 1 for byte in vector) * mmap.PAGESIZE
        del mapped
    return round(resident / 1e6, 1)
