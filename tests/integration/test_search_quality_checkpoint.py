"""The best network that ASHA stopped early is tested from its checkpoint, recorded in MLflow."""

import pandas as pd
import pytest
import torch

from trainables.checkpoints import ARCHITECTURE_FILE, CHECKPOINT_FILE
from trainables.datasets import load_dataset
from trainables.evaluation import checkpoint_test_accuracy
from trainables.models import build_model
from trainables.spec import ArchSpec
from trainables.training import channel_stats


def test_the_best_network_stopped_early_is_tested_from_its_checkpoint(tmp_path):
    """What ASHA leaves: the best validation accuracy on a network stopped after one epoch."""
    from types import SimpleNamespace

    from mlflow.tracking import MlflowClient
    from ray import tune

    from nas_service.methods.baselines import evaluate_best_stopped_early
    from nas_service.tracking.tags import TEST_ACCURACY_SOURCE_TAG

    data = load_dataset("digits", seed=0)
    spec = ArchSpec(depths=(1, 1, 1), image_size=data.image_size, in_channels=data.in_channels)
    folder = tmp_path / "checkpoint"
    folder.mkdir()
    torch.manual_seed(1)
    (folder / ARCHITECTURE_FILE).write_text(spec.to_json())
    torch.save({"model": build_model(spec).state_dict()}, folder / CHECKPOINT_FILE)
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    run = client.create_run(client.create_experiment("e"))
    logged = []
    settings = SimpleNamespace(data=data, normalisation=lambda data: channel_stats(data.x_train))
    experiment = SimpleNamespace(settings=settings, client=client, method="asha", log_table=logged.append)
    table = pd.DataFrame(
        {
            "run_name": ["sample-2-2-2", "sample-1-1-1"],
            "trial_id": ["full", "stopped"],
            "epoch": [3, 1],
            "val_accuracy": [0.5, 0.6],
            "test_accuracy": [0.45, float("nan")],
            "mlflow_run_id": ["other", run.info.run_id],
        }
    )
    results = [
        SimpleNamespace(
            checkpoint=tune.Checkpoint.from_directory(str(folder)), metrics={"trial_id": "stopped"}
        )
    ]

    tested = evaluate_best_stopped_early(experiment, results, table)
    expected = checkpoint_test_accuracy(folder, data, channel_stats(data.x_train))
    assert tested.loc[1, "test_accuracy"] == pytest.approx(expected)
    assert tested.loc[0, "test_accuracy"] == 0.45 and table["test_accuracy"].isna().sum() == 1
    saved = client.get_run(run.info.run_id)
    assert saved.data.metrics["test_accuracy"] == pytest.approx(expected)
    assert saved.data.tags[TEST_ACCURACY_SOURCE_TAG] == "checkpoint after epoch 1 (stopped early)"
    assert logged and logged[0] is tested
    # a best network that has its test accuracy is left as it is
    assert evaluate_best_stopped_early(experiment, results, tested) is tested
