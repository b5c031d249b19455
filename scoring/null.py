"""The null control among the criteria: ``random``, a coin flip per stage.

A criterion is worth its cost only if its decisions predict accuracy better than chance.
``random`` gives a stage a uniform score in [0, 1) that ignores the features, so T's stage beats
A's with probability 1/2, independently for every stage and iteration: a search or an audit run
with it shows what coin flips achieve at the same cost (``compare --criteria plsvip,random``).

The draw is seeded from the network and stage being scored (``key``: the search seed, the
iteration, the network's init seed and depths, the stage; ``trainables.stage_importance``
builds it), so the same search makes the same decisions, and A, T and every bootstrap replicate
draw their own numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from scoring.inputs import checked_inputs


def random_score(features: np.ndarray, labels: np.ndarray, key: Sequence[int] = ()) -> float:
    """A uniform draw in [0, 1) from the generator seeded by ``key``.  The features are checked
    as every criterion checks them (a diverged network is an error here too), then ignored."""
    checked_inputs(features, None, "random")
    return float(np.random.default_rng([int(k) for k in key]).random())
