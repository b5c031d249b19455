"""Per-stage importance, reported the way ``StageWiseSearcher`` reads it: the one call a Tune
trainable makes after training a proposed network, ours or a user's own.

A trainable that trains the searcher's proposals (``config["depths"]``: modules per stage)
reports, with its last result, the importance of each stage's output features::

    features = stage_features_of(model, images)          # or your own (N, F) matrix per stage
    tune.report({"val_accuracy": accuracy,
                 **stage_importance(features, labels, criterion="plsvip", bootstrap=20)})

``stage_features_of`` needs a model with ``forward_stages(x) -> [stage outputs]``; any model can
instead pass its own features.  Scores are computed in the trial's process, or by the scoring
actors (``scoring.actor.create_scoring_pool``) when ``scorers`` are given, which also split the
bootstrap replicates among them.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from scoring.bootstrap import bootstrap_stage_scores
from scoring.criteria import stage_score
from trainables.features import pooled_stage_outputs
from trainables.trial_config import BOOTSTRAP_KEY

IMPORTANCE_KEY = "importance"


def stage_features_of(
    model: torch.nn.Module, images: torch.Tensor, batch_size: int = 256
) -> list[np.ndarray]:
    """One float32 (N, F_i) matrix per stage of ``model`` for ``images`` (N, C, H, W): each
    stage's output, pooled as the authors do (``trainables.features``)."""
    return pooled_stage_outputs(model, images.split(batch_size))


def scoring_key(search_seed: int, iteration: int, init_seed: int, depths: Sequence[int]) -> tuple[int, ...]:
    """The integers that name a trained network to a criterion that draws random numbers: the
    search's seed and iteration (so a search reproduces) and the network itself (so A, T and
    every other network of an iteration draw their own)."""
    return (int(search_seed), int(iteration), int(init_seed), *map(int, depths))


def stage_importance(
    features: Sequence[np.ndarray],
    labels: np.ndarray,
    criterion: str = "plsvip",
    *,
    bootstrap: int = 0,
    seed: int = 0,
    scorers: Sequence | None = None,
    spread_key: str = "",
    key: Sequence[int] = (),
) -> dict[str, Any]:
    """``{"importance": {"s1": .., "sS": ..}}`` and, with ``bootstrap`` replicates,
    ``{"importance_bootstrap": {"s1": [..], ..}}``: what the searcher compares between A and T.

    ``criterion``: a built-in name (``plsvip``, ``inffs``, ``ilfs``, ``probe``, ``random``) or
    ``package.module:function``.  ``key``: integers naming the network, which seed a criterion
    that draws random numbers (``scoring_key``); the stage's index is appended.
    ``scorers``: scoring actors; the whole sample goes to one of them (chosen from
    ``spread_key``, e.g. the trial id, so that trials spread over the pool) and the replicates to
    the others, in parallel.  Without actors everything runs here.
    """
    labels = np.asarray(labels)
    if scorers:
        scores, replicates = _on_actors(
            list(features), labels, criterion, bootstrap, seed, list(scorers), spread_key, tuple(key)
        )
    else:
        scores = [
            stage_score(stage, labels, criterion, key=(*key, index)) for index, stage in enumerate(features)
        ]
        replicates = (
            [
                bootstrap_stage_scores(stage, labels, criterion, bootstrap, seed, key=(*key, index))
                for index, stage in enumerate(features)
            ]
            if bootstrap
            else None
        )
    reported: dict[str, Any] = {IMPORTANCE_KEY: {f"s{i + 1}": float(score) for i, score in enumerate(scores)}}
    if replicates is not None:  # lists: Tune keeps them, MLflow's metrics skip them
        reported[BOOTSTRAP_KEY] = {
            f"s{i + 1}": [float(v) for v in values] for i, values in enumerate(replicates)
        }
    return reported


def scores_by_criterion(
    features: Sequence[np.ndarray],
    labels: np.ndarray,
    criteria: Sequence[str],
    *,
    seed: int = 0,
    scorers: Sequence | None = None,
    spread_key: str = "",
    key: Sequence[int] = (),
) -> dict[str, dict[str, float]]:
    """``{criterion: {"s1": .., "sS": ..}}``: the stages' scores by each of ``criteria`` on one
    extraction of the features, without a bootstrap (the audit compares criteria on the same
    trained networks)."""
    return {
        criterion: stage_importance(
            features, labels, criterion, seed=seed, scorers=scorers, spread_key=spread_key, key=key
        )[IMPORTANCE_KEY]
        for criterion in criteria
    }


def _on_actors(
    features: list[np.ndarray],
    labels: np.ndarray,
    criterion: str,
    bootstrap: int,
    seed: int,
    scorers: list,
    spread_key: str,
    key: tuple[int, ...],
) -> tuple[list[float], list[list[float]] | None]:
    import ray

    features_ref, labels_ref = ray.put(features), ray.put(labels)
    first = zlib.crc32(spread_key.encode()) % len(scorers)
    scores = scorers[first].score_stages.remote(features_ref, labels_ref, criterion, key)
    chunks = [bootstrap // len(scorers) + (k < bootstrap % len(scorers)) for k in range(len(scorers))]
    pending = [
        scorers[(first + 1 + k) % len(scorers)].bootstrap_stages.remote(
            features_ref, labels_ref, criterion, size, seed, k, key
        )
        for k, size in enumerate(chunks)
        if size
    ]
    per_chunk = ray.get(pending)
    replicates = (
        [sum((chunk[stage] for chunk in per_chunk), []) for stage in range(len(per_chunk[0]))]
        if per_chunk
        else None
    )
    return ray.get(scores), replicates
