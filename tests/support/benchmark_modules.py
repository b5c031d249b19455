"""A benchmark script imported as a module, so a test runs it in its own process."""

from __future__ import annotations

import importlib
from pathlib import Path

from ray import cloudpickle

ROOT = Path(__file__).resolve().parents[2]


def in_process(monkeypatch, script: str):
    """A benchmark's module, run in this process and the session's Ray (a process of its own
    would spend 15 s starting Ray); the session's workers cannot import it, so it is pickled by
    value."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    module = importlib.import_module(script)
    cloudpickle.register_pickle_by_value(module)
    return module
