"""Measures of a trained network read back from its checkpoint folder, on the CPU, with the
training split's normalisation as in training.

A trial computes its test accuracy and stage scores at its last epoch.  A trial that a scheduler
stopped early (ASHA) never gets there, yet it may hold a method's best validation accuracy: its
test accuracy is computed here.  And the audit of a finished search scores the networks that
search trained by criteria it did not use: their stage scores are computed here, on the images
the trial itself scored.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from trainables.checkpoints import load_trained_model
from trainables.datasets.splits import DataSplits
from trainables.features import scoring_sample, stage_features
from trainables.stage_importance import scores_by_criterion
from trainables.training import ImageBatches, evaluate


def checkpoint_test_accuracy(
    folder: str | Path, data: DataSplits, normalisation: tuple[torch.Tensor, torch.Tensor]
) -> float:
    """Top-1 accuracy in [0, 1] on ``data``'s test split of the network saved in ``folder``;
    ``normalisation`` is the mean and std it trained with (``TrialSettings.normalisation``)."""
    if data.x_test is None:
        raise ValueError(f"{data.name} has no test split")
    _, model = load_trained_model(folder)
    test = ImageBatches(data.x_test, data.y_test, *normalisation, torch.device("cpu"))
    return evaluate(model, test)


def checkpoint_stage_scores(
    folder: str | Path,
    data: DataSplits,
    normalisation: tuple[torch.Tensor, torch.Tensor],
    criteria: Sequence[str],
    scoring_samples: int | None,
    seed: int,
    key: Sequence[int],
) -> dict[str, dict[str, float]]:
    """``{criterion: {"s1": .., ..}}`` of the network saved in ``folder``: the scores its trial
    would have reported with ``criteria`` (``scores_by_criterion``), on the same scoring images
    (``scoring_sample`` of ``data``'s training split with the search's ``scoring_samples`` and
    ``seed``) and the same ``key`` (``scoring_key``)."""
    _, model = load_trained_model(folder)
    sample = scoring_sample(data.y_train, scoring_samples, seed)
    images = ImageBatches(data.x_train[sample], data.y_train[sample], *normalisation, torch.device("cpu"))
    return scores_by_criterion(
        stage_features(model, images), images.labels.cpu().numpy(), criteria, seed=seed, key=key
    )
