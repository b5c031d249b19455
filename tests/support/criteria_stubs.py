"""Criteria for tests, given to the CLI by import path (``--criterion criteria_stubs:tie``)."""

import numpy as np


def tie(features: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Every feature equally important in every network: T never beats A, so no stage grows."""
    return np.ones(np.shape(features)[1])


# per iteration, per stage: the factor of networks trained from an odd init seed (even: 1)
ODD_SEED_FACTOR = {1: (-0.5, -0.9, 1.0), 2: (1.0, -1.5, 1.0)}


def depth_by_seed(features: np.ndarray, labels: np.ndarray, key=()) -> float:
    """A stage score from the network's name (``trainables.stage_importance.scoring_key``: search
    seed, iteration, init seed, 3 depths, stage, then a bootstrap replicate's chunk and index):
    the network's total depth, times a factor that odd init seeds turn against growth in some
    stages.  Iteration 1 grows every stage on the mean over seeds 0 and 1, although seed 1 says
    no in stages 1 and 2; iteration 2 (seeds 2, 3) does not grow stage 2."""
    _, iteration, init_seed, *depths = key[:6]
    stage = key[6]
    factor = ODD_SEED_FACTOR.get(iteration, (1.0,) * 3)[stage] if init_seed % 2 else 1.0
    return float(sum(depths) * factor)
