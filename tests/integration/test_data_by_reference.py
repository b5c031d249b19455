"""The data set travels to the trials by reference: the settings Tune ships stay small, and a
trial's batches read the object store's arrays (or a prepared folder's mapped files) in place
instead of copying them."""

import json
import logging
import warnings

import numpy as np
import pytest
import ray
import torch
from mlflow.tracking import MlflowClient
from ray import cloudpickle

from nas_service.cli.arguments import parse_config
from nas_service.methods import single
from nas_service.tune.experiment import start_experiment
from trainables.datasets import load_dataset
from trainables.datasets.mapped import MappedFolder, write_mapped
from trainables.protocol import TrainingConfig
from trainables.settings import TrialSettings
from trainables.training import ImageBatches, channel_stats


@ray.remote
def batches_memory(settings: TrialSettings) -> dict:
    """In a worker process, as a trial starts: do its training batches own their images?"""
    data = settings.data
    mean, std = channel_stats(data.x_train)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning about read-only arrays reaches the user
        train = ImageBatches(data.x_train, data.y_train, mean, std, torch.device("cpu"))
    return {
        "mapped": isinstance(data.x_train, np.memmap),
        "writeable": bool(data.x_train.flags.writeable),
        "same_memory": train.images.data_ptr() == data.x_train.ctypes.data,
        "first_batch": next(train.batches(4))[1].tolist(),
    }


def test_trials_read_the_data_set_from_the_object_store_without_copying_it(ray_session):
    data = load_dataset("synthetic", image_size=16, num_samples=2000, seed=0)
    settings = TrialSettings(
        data_source=ray.put(data),
        training=TrainingConfig(epochs=1, lr=0.05),
        criterion="plsvip",
        scoring_samples=10,
        seed=0,
    )
    assert data.x_train.nbytes > 500_000
    assert len(cloudpickle.dumps(settings)) < 5_000  # what Tune puts into each trial's arguments
    seen = ray.get(batches_memory.remote(settings))
    # the arrays come out of the object store read-only, and the batches use them as they are
    assert seen == {
        "mapped": False,
        "writeable": False,
        "same_memory": True,
        "first_batch": data.y_train[:4].tolist(),
    }
    assert np.array_equal(settings.data.x_val, data.x_val)  # the driver reads the same set


def test_trials_memory_map_a_prepared_folder_themselves(ray_session, tmp_path):
    data = load_dataset("synthetic", image_size=16, num_samples=2000, seed=0)
    folder = write_mapped(data, tmp_path / "prepared", {"dataset": "synthetic"})
    settings = TrialSettings(
        data_source=MappedFolder(str(folder)),
        training=TrainingConfig(epochs=1, lr=0.05),
        criterion="plsvip",
        scoring_samples=10,
        seed=0,
    )
    assert len(cloudpickle.dumps(settings)) < 5_000

    def object_store_used() -> float:
        return (
            ray.cluster_resources()["object_store_memory"] - ray.available_resources()["object_store_memory"]
        )

    used_before = object_store_used()
    seen = ray.get(batches_memory.remote(settings))
    # the worker maps the files; its batches read the map, no copy in the process's own memory
    assert seen == {
        "mapped": True,
        "writeable": False,
        "same_memory": True,
        "first_batch": data.y_train[:4].tolist(),
    }
    assert object_store_used() < used_before + data.x_train.nbytes / 10  # none of it went there


def test_a_network_trains_on_a_prepared_folder_normalised_by_the_drivers_moments(
    ray_session, tmp_path, caplog, monkeypatch
):
    data = parse_config(["--max-train-images", "200"]).load_splits()
    folder = write_mapped(data, tmp_path / "prepared", {"dataset": "digits"})
    config = parse_config(
        [
            "--dataset",
            "mapped",
            "--data-dir",
            str(folder),
            "--initial-depths",
            "1-1-1",
            "--epochs",
            "1",
            "--name",
            "mapped",
            "--tracking-uri",
            f"sqlite:///{tmp_path}/mlflow.db",
            "--storage-path",
            str(tmp_path / "runs"),
        ]
    )
    started = []
    monkeypatch.setattr(
        single,
        "start_experiment",
        lambda *args, **kwargs: started.append(start_experiment(*args, **kwargs)) or started[-1],
    )
    with caplog.at_level(logging.INFO, logger="nas_service"):
        outcome = single.train_one(config, config.load_data())
    assert f"every trial memory-maps the data set from {folder}" in caplog.text
    client = MlflowClient(config.tracking_uri)
    run = client.get_run(outcome["run_id"])
    assert run.data.metrics["val_accuracy"] == outcome["val_accuracy"]
    assert 0 <= run.data.metrics["test_accuracy"] <= 1
    dataset = client.get_run(outcome["parent_run_id"]).inputs.dataset_inputs[0].dataset
    assert json.loads(dataset.source) == {"uri": str(folder)}
    assert json.loads(dataset.profile)["train_images"] == 200

    # the trials' settings: the folder, and the normalisation the driver computed once
    settings = started[0].settings
    assert settings.data_source == MappedFolder(str(folder))
    pixels = data.x_train.reshape(-1) / 255.0  # by hand: every pixel of every training image
    (mean,), (std,) = settings.channel_moments
    assert mean == pytest.approx(pixels.mean(), rel=1e-12)
    assert std == pytest.approx(pixels.std(), rel=1e-9)
    # a trial normalises with the driver's numbers and never reads the images for them
    monkeypatch.setattr("trainables.settings.channel_stats", pytest.fail)
    assert [tensor.tolist() for tensor in settings.normalisation(data)] == [
        torch.tensor([mean], dtype=torch.float32).tolist(),
        torch.tensor([std], dtype=torch.float32).tolist(),
    ]
