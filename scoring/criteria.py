"""Importance criteria by name, all with the signature ``(features, labels) -> per-feature scores``,
and the stage score the growth rule compares."""

from __future__ import annotations

from typing import Callable

import numpy as np

from scoring.plsvip import plsvip

Criterion = Callable[[np.ndarray, np.ndarray], np.ndarray]

CRITERIA: dict[str, Criterion] = {
    "plsvip": plsvip,
}


def get_criterion(name: str) -> Criterion:
    try:
        return CRITERIA[name]
    except KeyError:
        raise ValueError(f"criterion {name!r} is not one of {', '.join(CRITERIA)}") from None


def stage_score(features: np.ndarray, labels: np.ndarray, criterion: str) -> float:
    """A stage's importance: the mean per-feature importance of its output features (the paper)."""
    return float(np.mean(get_criterion(criterion)(features, labels)))
