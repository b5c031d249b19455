"""The Tune stopper that keeps a search within its ``Budget``.

The stopper keeps a search within its image budget: after every result it stops all trials if one
more epoch of every trial that may be running would overshoot it.  A trial that has just reported
its last epoch needs no such epoch, and it is not stopped while the others' epochs still fit, so it
completes normally (stage-wise needs its importance).  The GPU-hour and kgCO2eq caps are checked
after each epoch and can be exceeded by at most one epoch per running trial.

``StopRequested`` ends a search running in a thread of the driver (``nas_service.tune.at_once``)
gracefully when a stop signal arrives: Tune's own handler only works in the main thread.

A resumed search gets back the stopper Tune pickled when the search started, which has seen no
result; ``history`` (the trials' last measures as MLflow holds them) fills in, at the first result
after a start or a resume, what was spent before, so a budget holds across crashes.  For the same
reason the driver cannot ask its own stopper object whether the budget ended a resumed search:
``on_exhausted`` records it where the driver reads it (a tag on the MLflow parent run).
"""

from __future__ import annotations

from collections.abc import Callable

from ray import tune

from nas_service.core.budget import Budget, spent_by
from nas_service.tune.stop_signals import stop_requested_in_threads
from trainables.trial_config import EXTRA_EPOCHS_KEY


class BudgetStopper(tune.Stopper):
    """Ends the whole experiment when the budget is (about to be) spent; ``exhausted`` says so."""

    def __init__(
        self,
        budget: Budget,
        epoch_images: int,
        epochs: int,
        concurrency: int,
        history: Callable[[], dict[str, dict]] | None = None,
        on_exhausted: Callable[[], None] | None = None,
    ) -> None:
        self.budget = budget
        self.epoch_images = epoch_images
        self.epochs = epochs
        self.concurrency = concurrency
        self.history = history  # picklable: trial id -> its last measures, from before a resume
        self.on_exhausted = on_exhausted  # picklable too: called once, when the budget ends
        self.last_results: dict[str, dict] = {}
        self.last_was_final = False
        self.exhausted = False
        self.seeded = False

    def __call__(self, trial_id: str, result: dict) -> bool:
        if not self.seeded:
            self.seeded = True
            for earlier_trial, measures in (self.history() if self.history else {}).items():
                self.last_results.setdefault(earlier_trial, {**measures, "trial_id": earlier_trial})
        self.last_results[trial_id] = result
        extra = int((result.get("config") or {}).get(EXTRA_EPOCHS_KEY, 0))
        self.last_was_final = result.get("epoch") == self.epochs + extra
        return False

    def spent(self) -> dict[str, float]:
        return spent_by(list(self.last_results.values()))

    def stop_all(self) -> bool:
        spent, budget = self.spent(), self.budget
        # a trial that just reported its last epoch will train no more: reserve one epoch for each
        # other trial that may be running, and let the finished one complete normally
        running = self.concurrency - 1 if self.last_was_final else self.concurrency
        if budget.images is not None and spent["images"] + running * self.epoch_images > budget.images:
            self.exhausted = True
        caps = [
            budget.gpu_hours is not None and spent["gpu_hours"] >= budget.gpu_hours,
            budget.emissions_kg is not None and spent["emissions_kg"] >= budget.emissions_kg,
        ]
        if any(caps) and not self.last_was_final:
            self.exhausted = True
        if self.exhausted and self.on_exhausted is not None:
            self.on_exhausted()
            self.on_exhausted = None
        return self.exhausted


class StopRequested(tune.Stopper):
    """Ends the Tune run once ``stop_signals.stop_threads_on_signal`` took a stop signal (every
    search has one; outside searches run in threads it never fires)."""

    def __call__(self, trial_id: str, result: dict) -> bool:
        return False

    def stop_all(self) -> bool:
        return stop_requested_in_threads()
