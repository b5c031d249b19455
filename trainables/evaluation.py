"""Test accuracy of a trained network read back from its checkpoint folder.

A trial computes its test accuracy at its last epoch.  A trial that a scheduler stopped early
(ASHA) never gets there, yet it may hold a method's best validation accuracy; its last
checkpoint is evaluated here, on the CPU, with the training split's normalisation as in training.
"""

from __future__ import annotations

from pathlib import Path

import torch

from trainables.checkpoints import load_trained_model
from trainables.datasets.splits import DataSplits
from trainables.training import ImageBatches, evaluate


def checkpoint_test_accuracy(folder: str | Path, data: DataSplits,
                             normalisation: tuple[torch.Tensor, torch.Tensor]) -> float:
    """Top-1 accuracy in [0, 1] on ``data``'s test split of the network saved in ``folder``;
    ``normalisation`` is the mean and std it trained with (``TrialSettings.normalisation``)."""
    if data.x_test is None:
        raise ValueError(f"{data.name} has no test split")
    _, model = load_trained_model(folder)
    test = ImageBatches(data.x_test, data.y_test, *normalisation, torch.device("cpu"))
    return evaluate(model, test)
