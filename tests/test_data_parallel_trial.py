"""A data-parallel candidate (2 Ray Train workers, DDP over gloo) as a real Tune trial of the
session's local Ray, beside the same candidate trained by one process: the same reports, the
stage scores computed once, and a checkpoint that the readers of trained networks find.  The
2-node version with a killed worker is in test_cluster."""

from dataclasses import replace

import numpy as np
import pytest
import ray
from ray import tune

from nas_service.tune.cluster import TrialResources
from nas_service.tune.trial_checkpoint import latest_checkpoint
from trainables.checkpoints import load_trained_model
from trainables.datasets import load_dataset
from trainables.protocol import TrainingConfig
from trainables.settings import TrialSettings
from trainables.trainable import train_candidate
from trainables.trial_config import CHECKPOINT_LOCATION_KEY

RESOURCES = {"cpu": 1.0, "gpu": 0.0}
# what only one of the two kinds of trial reports: where its checkpoint is, and its workers' nodes
DATA_PARALLEL_ONLY = {"checkpoint_path", CHECKPOINT_LOCATION_KEY, "worker_node_ids"}
TUNE_CHECKPOINT_ONLY = {"checkpoint_dir_name", "should_checkpoint"}  # Tune's, of its checkpoints


def fit_one(settings: TrialSettings, workers: int, storage: str) -> tune.ResultGrid:
    trainable = tune.with_resources(
        tune.with_parameters(train_candidate, settings=settings, scorers=[]),
        TrialResources(RESOURCES, RESOURCES, workers))
    tuner = tune.Tuner(trainable, param_space={"depths": [1, 1, 1], "role": "A", "iteration": 1},
                       run_config=tune.RunConfig(storage_path=storage, name=f"workers-{workers}",
                                                 verbose=0))
    results = tuner.fit()
    assert not results.errors, results.errors
    return results[0]


@pytest.fixture(scope="module")
def one_and_two_workers(ray_session, tmp_path_factory):
    storage = str(tmp_path_factory.mktemp("tune"))
    data = load_dataset("digits", seed=0)
    settings = TrialSettings(data_ref=ray.put(data), criterion="plsvip", scoring_samples=200,
                             seed=0, training=TrainingConfig(epochs=2, lr=0.05, batch_size=64),
                             experiment_path=f"{storage}/workers-2")
    return (fit_one(settings, 1, storage),
            fit_one(replace(settings, workers_per_trial=2), 2, storage))


def test_two_workers_report_what_one_process_reports(one_and_two_workers):
    one, two = one_and_two_workers
    assert set(one.metrics) - TUNE_CHECKPOINT_ONLY <= set(two.metrics)
    assert set(two.metrics) - set(one.metrics) == DATA_PARALLEL_ONLY
    assert two.metrics["acceleration"]["workers"] == "2"
    assert one.metrics["acceleration"]["workers"] == "1"
    assert two.metrics["epoch"] == 2 and two.metrics["last_result"]
    # scored once, on rank 0, on the same 200 images: real scores for every stage
    assert set(two.metrics["importance"]) == {"s1", "s2", "s3"}
    assert all(np.isfinite(list(two.metrics["importance"].values())))
    # each rank's process draws its own power: both are counted
    assert two.metrics["energy_kwh"] > 0
    assert len(two.metrics["worker_node_ids"].split(",")) == 2


def test_the_data_parallel_checkpoint_is_where_its_report_says(one_and_two_workers):
    _, two = one_and_two_workers
    assert two.checkpoint is None  # Ray Train keeps it, not Tune
    location = two.metrics[CHECKPOINT_LOCATION_KEY]
    assert "/workers-2/data_parallel/" in location
    with latest_checkpoint(two.checkpoint, two.metrics).as_directory() as folder:
        spec, model = load_trained_model(folder)
    assert spec.depths == (1, 1, 1)
    assert sum(p.numel() for p in model.parameters()) == two.metrics["params"]
