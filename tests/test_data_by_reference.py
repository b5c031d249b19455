"""The data set travels to the trials by reference: the settings Tune ships stay small, and a
trial's batches read the object store's arrays in place instead of copying them."""

import warnings

import numpy as np
import ray
import torch
from ray import cloudpickle

from trainables.datasets import load_dataset
from trainables.protocol import TrainingConfig
from trainables.settings import TrialSettings
from trainables.training import ImageBatches, channel_stats, host_or_device_tensor


@ray.remote
def batches_memory(settings: TrialSettings) -> dict:
    """In a worker process, as a trial starts: do its training batches own their images?"""
    data = settings.data
    mean, std = channel_stats(data.x_train)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning about read-only arrays reaches the user
        train = ImageBatches(data.x_train, data.y_train, mean, std, torch.device("cpu"))
    return {"writeable": bool(data.x_train.flags.writeable),
            "same_memory": train.images.data_ptr() == data.x_train.ctypes.data,
            "first_batch": next(train.batches(4))[1].tolist()}


def test_trials_read_the_data_set_from_the_object_store_without_copying_it(ray_session):
    data = load_dataset("synthetic", image_size=16, num_samples=2000, seed=0)
    settings = TrialSettings(data_ref=ray.put(data), training=TrainingConfig(epochs=1, lr=0.05),
                             criterion="plsvip", scoring_samples=10, seed=0)
    assert data.x_train.nbytes > 500_000
    assert len(cloudpickle.dumps(settings)) < 5_000  # what Tune puts into each trial's arguments
    seen = ray.get(batches_memory.remote(settings))
    # the arrays come out of the object store read-only, and the batches use them as they are
    assert seen == {"writeable": False, "same_memory": True,
                    "first_batch": data.y_train[:4].tolist()}
    assert np.array_equal(settings.data.x_val, data.x_val)  # the driver reads the same set


def test_host_tensors_share_the_array_and_device_tensors_copy_it():
    array = np.arange(24, dtype=np.uint8).reshape(1, 2, 3, 4)
    array.flags.writeable = False
    tensor = host_or_device_tensor(array, torch.device("cpu"))
    assert tensor.data_ptr() == array.ctypes.data and tensor.dtype == torch.uint8
    assert torch.equal(tensor, torch.arange(24, dtype=torch.uint8).reshape(1, 2, 3, 4))
