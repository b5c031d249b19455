"""Criteria for tests, given to the CLI by import path (``--criterion criteria_stubs:tie``)."""

import numpy as np


def tie(features: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Every feature equally important in every network: T never beats A, so no stage grows."""
    return np.ones(np.shape(features)[1])
