"""Energy and emissions of training, from codecarbon's offline tracker (no network needed).

``energy_kwh`` is what codecarbon attributes to the trial's process (CPU share, RAM and, when
present, the GPUs), and ``emissions_kg`` is that energy times the carbon intensity of the country's
electricity mix (ISO 3166-1 alpha-3 code, e.g. USA, FRA), in kgCO2eq.  On machines without power
counters (containers, most VMs) codecarbon falls back on the CPU's rated power, so the numbers are
estimates; they are comparable between candidates measured on the same machine.

Each epoch is one codecarbon task, so a resumed trial adds to the totals saved in its checkpoint.
If codecarbon cannot measure here, training goes on and the values are NaN (logged once).
"""

from __future__ import annotations

import json
import logging
import math
from functools import lru_cache

from codecarbon import OfflineEmissionsTracker
from codecarbon.input import DataSource

logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def known_countries() -> frozenset[str]:
    """The ISO codes of codecarbon's energy-mix table, read from its JSON file: codecarbon's own
    getter loads all of its tables with pandas, which would cost a settings check 0.7 s."""
    with open(DataSource().global_energy_mix_data_path) as handle:
        return frozenset(json.load(handle))


class EpochEmissions:
    """Measures training epochs one by one: ``start()`` then ``stop() -> (energy_kwh, kg)``."""

    def __init__(self, country: str) -> None:
        # after codecarbon's import, which sets its logger's level: no INFO/WARNING per trial
        logging.getLogger("codecarbon").setLevel(logging.ERROR)
        self._tracker = None
        try:
            self._tracker = OfflineEmissionsTracker(
                country_iso_code=country, save_to_file=False, tracking_mode="process", log_level="error"
            )
        except Exception as error:  # codecarbon must never stop a training run
            logger.warning("codecarbon unavailable, energy and emissions will be NaN: %s", error)

    def start(self) -> None:
        if self._tracker is not None:
            self._tracker.start_task()

    def stop(self) -> tuple[float, float]:
        if self._tracker is None:
            return math.nan, math.nan
        try:
            data = self._tracker.stop_task()
            return float(data.energy_consumed), float(data.emissions)
        except Exception as error:
            logger.warning("codecarbon failed, energy and emissions will be NaN: %s", error)
            self._tracker = None
            return math.nan, math.nan
