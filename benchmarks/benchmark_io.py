"""What every benchmark records: the machine and library versions it ran on, and its numbers as
JSON (the files in ``benchmarks/results/`` that the README quotes)."""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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
