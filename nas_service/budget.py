"""The search budget, defined once, and the Tune stopper that enforces it.

The budget unit is **training images processed**: epochs run x training images, summed over all
trials of a search (every trial reports its running total as ``images_seen``).  It does not depend
on the hardware, on how many trials share a device or on machine noise, so two methods given the
same number get the same amount of training.  Optional caps in GPU-hours (``gpu_seconds`` / 3600:
wall time x GPUs held) and kgCO2eq (``emissions_kg``) stop any search when spent.

The stopper keeps a search within its image budget by stopping all trials before the next round of
epochs of every trial that may be running would overshoot it.  It never stops on a trial's last
epoch: that trial has finished its work (stage-wise needs its importance), and the next result of
any trial comes, at the latest, after one more epoch, which the reserved round still covers.  The
GPU-hour and kgCO2eq caps are checked after each epoch and can be exceeded by at most one epoch per
running trial.
"""

from __future__ import annotations

from dataclasses import dataclass

from ray import tune


@dataclass(frozen=True)
class Budget:
    images: float | None = None
    gpu_hours: float | None = None
    emissions_kg: float | None = None

    @property
    def limited(self) -> bool:
        return any(v is not None for v in (self.images, self.gpu_hours, self.emissions_kg))


def spent_by(results: list[dict]) -> dict[str, float]:
    """Total images, GPU-hours and kgCO2eq of trials, from each one's last result."""
    return {"images": sum(r.get("images_seen", 0) or 0 for r in results),
            "gpu_hours": sum(r.get("gpu_seconds", 0) or 0 for r in results) / 3600.0,
            "emissions_kg": sum(r.get("emissions_kg", 0) or 0 for r in results)}


class BudgetStopper(tune.Stopper):
    """Ends the whole experiment when the budget is (about to be) spent; ``exhausted`` says so."""

    def __init__(self, budget: Budget, epoch_images: int, epochs: int, concurrency: int) -> None:
        self.budget = budget
        self.epoch_images = epoch_images
        self.epochs = epochs
        self.concurrency = concurrency
        self.last_results: dict[str, dict] = {}
        self.last_was_final = False
        self.exhausted = False

    def __call__(self, trial_id: str, result: dict) -> bool:
        self.last_results[trial_id] = result
        self.last_was_final = result.get("epoch") == self.epochs
        return False

    def spent(self) -> dict[str, float]:
        return spent_by(list(self.last_results.values()))

    def stop_all(self) -> bool:
        spent, budget = self.spent(), self.budget
        next_round = self.concurrency * self.epoch_images
        over = [budget.images is not None and spent["images"] + next_round > budget.images,
                budget.gpu_hours is not None and spent["gpu_hours"] >= budget.gpu_hours,
                budget.emissions_kg is not None and spent["emissions_kg"] >= budget.emissions_kg]
        if any(over) and not self.last_was_final:
            self.exhausted = True
        return self.exhausted
