"""The search budget, defined once (``nas_service.tune.stopper`` enforces it in Tune).

The budget unit is **training images processed**: epochs run x training images, summed over all
trials of a search (every trial reports its running total as ``images_seen``).  It does not depend
on the hardware, on how many trials share a device or on machine noise, so two methods given the
same number get the same amount of training.  Optional caps in GPU-hours (``gpu_seconds`` / 3600:
wall time x GPUs held) and kgCO2eq (``emissions_kg``) stop any search when spent.
"""

from __future__ import annotations

from dataclasses import dataclass

from trainables.trial_config import CONTINUES_KEY


@dataclass(frozen=True)
class Budget:
    images: float | None = None
    gpu_hours: float | None = None
    emissions_kg: float | None = None

    @property
    def limited(self) -> bool:
        return any(v is not None for v in (self.images, self.gpu_hours, self.emissions_kg))


def spent_by(results: list[dict]) -> dict[str, float]:
    """Total images, GPU-hours and kgCO2eq of trials, from each one's last result.  A trial that
    continues another (``--final-epochs``) carries that trial's totals on, so it replaces it."""
    continued = {(r.get("config") or {}).get(CONTINUES_KEY) for r in results} - {None}
    results = [r for r in results if r.get("trial_id") not in continued]
    return {
        "images": sum(r.get("images_seen", 0) or 0 for r in results),
        "gpu_hours": sum(r.get("gpu_seconds", 0) or 0 for r in results) / 3600.0,
        "emissions_kg": sum(r.get("emissions_kg", 0) or 0 for r in results),
    }


def networks_trained(results: list[dict]) -> int:
    """How many networks trials trained, from each one's last result: those that finished an
    epoch, a continuation (``--final-epochs``) not counted again."""
    return sum(1 for r in results if "epoch" in r and CONTINUES_KEY not in (r.get("config") or {}))
