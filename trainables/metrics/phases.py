"""Where a trial's wall time goes, phase by phase (``benchmarks/overhead.py`` reads it).

Every result reports ``phase_seconds`` (MLflow: ``phase_seconds/<phase>``): the seconds this
attempt of the trial has spent so far in each phase of ``PHASES``.  ``train`` is the same time
as ``train_seconds`` (which a resumed trial sums over its attempts); the others are what a
search pays besides training, inside the trial.  What no phase holds (starting the trial's
process, importing torch, Tune's bookkeeping, the driver's MLflow calls) is the trial's wall time
minus their sum.  A result cannot hold the time of its own report: ``checkpoint`` covers the
reports before it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

PHASES = ("setup", "train", "emissions", "validation", "checkpoint", "test", "latency", "scoring")


class PhaseClock:
    """Wall seconds per phase, summed over the calls of ``phase``."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.seconds: dict[str, float] = dict.fromkeys(PHASES, 0.0)

    def since_start(self) -> float:
        return time.perf_counter() - self.started

    def add(self, name: str, seconds: float) -> None:
        """Time measured elsewhere (an epoch's training, the stage scoring)."""
        self.seconds[name] += seconds

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - started
