"""The checks every criterion applies to what it is given, with one wording for all."""

from __future__ import annotations

import numpy as np


def checked_inputs(
    features: np.ndarray, labels: np.ndarray | None, criterion: str
) -> tuple[np.ndarray, np.ndarray | None]:
    """(float64 features, labels) after the shape and finiteness checks; supervised criteria (given
    labels) also need two classes.  Raises ``ValueError`` naming the criterion."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2:
        raise ValueError(f"{criterion}: features {features.shape} must be (N, F)")
    if not np.isfinite(features).all():
        raise ValueError(f"{criterion}: features contain NaN or infinite values (did training diverge?)")
    if labels is None:
        return features, None
    labels = np.asarray(labels)
    if len(features) != len(labels):
        raise ValueError(
            f"{criterion}: features {features.shape} and labels {labels.shape} must be (N, F) and (N,)"
        )
    if len(np.unique(labels)) < 2:
        raise ValueError(f"{criterion} needs at least two classes among the labels")
    return features, labels
