"""The Ray actor that serves the criteria to trials, and the pool the driver creates.

Scoring runs outside the trials so that a trial's placement group does not have to hold CPU for it
and the criteria's memory is paid once per actor.  Actors are created by the driver with their own
(default zero) CPU request: an actor created inside a trial would be captured by the trial's
placement group and die with it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import ray

from scoring.bootstrap import bootstrap_stage_scores
from scoring.criteria import get_criterion, stage_score


class ScoringActor:
    """Scores the stages of one trained network."""

    def warm_up(self, criterion: str) -> None:
        """Import the criterion (scikit-learn takes seconds), so that the first trained network
        does not wait for it at the end of its training."""
        get_criterion(criterion)

    def score_stages(
        self, stage_features: list[np.ndarray], labels: np.ndarray, criterion: str, key: Sequence[int] = ()
    ) -> list[float]:
        """Per stage, its score; ``key`` names the network (``scoring.criteria.stage_score``)."""
        return [
            stage_score(features, labels, criterion, key=(*key, stage))
            for stage, features in enumerate(stage_features)
        ]

    def bootstrap_stages(
        self,
        stage_features: list[np.ndarray],
        labels: np.ndarray,
        criterion: str,
        replicates: int,
        seed: int,
        chunk: int = 0,
        key: Sequence[int] = (),
    ) -> list[list[float]]:
        """Per stage, its score on ``replicates`` paired resamples (``scoring.bootstrap``)."""
        return [
            bootstrap_stage_scores(features, labels, criterion, replicates, seed, chunk, key=(*key, stage))
            for stage, features in enumerate(stage_features)
        ]


def create_scoring_pool(
    size: int, num_cpus: float = 0, criterion: str | None = None
) -> list[ray.actor.ActorHandle]:
    """``size`` scoring actors; ``num_cpus`` is what each reserves in the cluster.  With a
    ``criterion`` each starts importing it now, while the first networks train."""
    remote_class = ray.remote(num_cpus=num_cpus, max_restarts=2)(ScoringActor)
    actors = [remote_class.remote() for _ in range(size)]
    if criterion is not None:
        for actor in actors:
            actor.warm_up.remote(criterion)  # ordered before any scoring call to this actor
    return actors
