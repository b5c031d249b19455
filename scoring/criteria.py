"""Importance criteria by name, all with the signature ``(features, labels) -> per-feature scores``,
and the stage score the growth rule compares.

Criteria are named by import path and imported when used, so checking a name (the CLI does) does
not import scikit-learn."""

from __future__ import annotations

from pkgutil import resolve_name
from typing import Callable

import numpy as np

Criterion = Callable[[np.ndarray, np.ndarray], np.ndarray]

CRITERIA: dict[str, str] = {
    "plsvip": "scoring.plsvip:plsvip",
}


def get_criterion(name: str) -> Criterion:
    if name not in CRITERIA:
        raise ValueError(f"criterion {name!r} is not one of {', '.join(CRITERIA)}")
    return resolve_name(CRITERIA[name])


def stage_score(features: np.ndarray, labels: np.ndarray, criterion: str) -> float:
    """A stage's importance: the mean per-feature importance of its output features (the paper)."""
    return float(np.mean(get_criterion(criterion)(features, labels)))
