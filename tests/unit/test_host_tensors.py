"""Host tensors share the data set's array; device tensors copy it."""

import numpy as np
import torch

from trainables.training import host_or_device_tensor


def test_host_tensors_share_the_array_and_device_tensors_copy_it():
    array = np.arange(24, dtype=np.uint8).reshape(1, 2, 3, 4)
    array.flags.writeable = False
    tensor = host_or_device_tensor(array, torch.device("cpu"))
    assert tensor.data_ptr() == array.ctypes.data and tensor.dtype == torch.uint8
    assert torch.equal(tensor, torch.arange(24, dtype=torch.uint8).reshape(1, 2, 3, 4))
