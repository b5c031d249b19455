"""Paired bootstrap of stage scores: how sure is "T's stage beats A's"?

The growth rule compares two numbers, A's and T's mean importance of a stage, that often differ in
the third or fourth decimal.  Re-scoring each network on resampled copies of the scored images
shows how much of that difference is the choice of images.  A and T are scored on the same images
(``trainables.features.scoring_sample``) and here draw the same resamples (the generator depends on
the seed and the labels only), so replicate b of A pairs with replicate b of T and
``nas_service.core.growth.stage_confidence`` turns the pairs into a probability.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from scoring.criteria import stage_score


def bootstrap_indices(labels: np.ndarray, replicates: int, seed: int, chunk: int = 0) -> np.ndarray:
    """(replicates, N) row indices, each row drawn with replacement within every class, so that
    every replicate keeps the class counts (and a supervised criterion its classes).  ``chunk``
    numbers independent batches of replicates, which scoring actors compute in parallel."""
    labels = np.asarray(labels)
    rng = np.random.default_rng([seed, chunk, len(labels)])
    rows = np.empty((replicates, len(labels)), dtype=np.int64)
    for value in np.unique(labels):
        members = np.flatnonzero(labels == value)
        rows[:, members] = members[rng.integers(0, len(members), (replicates, len(members)))]
    return rows


def bootstrap_stage_scores(
    features: np.ndarray,
    labels: np.ndarray,
    criterion: str,
    replicates: int,
    seed: int,
    chunk: int = 0,
    key: Sequence[int] = (),
) -> list[float]:
    """The stage's score on each of ``replicates`` resamples of its images; a criterion that
    draws random numbers (``key``) draws its own for every replicate."""
    return [
        stage_score(features[rows], np.asarray(labels)[rows], criterion, key=(*key, chunk, replicate))
        for replicate, rows in enumerate(bootstrap_indices(labels, replicates, seed, chunk))
    ]
