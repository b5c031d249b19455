"""The data set of a search as an MLflow dataset: what the UI's Datasets column and a run's
"Datasets used" show, and what tells two searches on the same images apart from two on different
ones.

The digest covers every byte of every split (images and labels), so a different validation split
(another ``--seed``), subset (``--max-train-images``) or file gives another digest; MLflow's own
numpy digest reads only the first 10,000 values, a few images.  SHA-256 reads about 1 GB/s: a
fraction of a second for CIFAR-10, a few seconds for ImageNet32.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from mlflow.data.schema import TensorDatasetSchema
from mlflow.entities import Dataset
from mlflow.types.schema import Schema, TensorSpec

from trainables.datasets.splits import DataSplits

SPLITS = ("train", "val", "test")
DIGEST_LENGTH = 16  # hex characters; MLflow keeps at most 36


def data_digest(data: DataSplits) -> str:
    """SHA-256 over the shape, dtype and bytes of every split's images and labels."""
    digest = hashlib.sha256()
    for split in SPLITS:
        for array in (getattr(data, f"x_{split}"), getattr(data, f"y_{split}")):
            if array is None:
                digest.update(b"none")
                continue
            array = np.ascontiguousarray(array)
            digest.update(f"{split}{array.dtype}{array.shape}".encode())
            if array.size:  # an empty split (``--val-fraction 0``) has no bytes to view
                digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()[:DIGEST_LENGTH]


def dataset_record(data: DataSplits, dataset: str, data_dir: str | None) -> Dataset:
    """``data`` as an MLflow dataset entity: its name, digest, where it came from (the files of
    ``--data-dir``, else the loader ``--dataset`` names), the tensor schema of one batch and a
    profile with the image shape, classes and split sizes."""
    if data_dir:
        source_type, source = "local", {"uri": str(Path(data_dir).expanduser().resolve())}
    else:
        source_type, source = "code", {"loader": dataset}
    channels, size = data.in_channels, data.image_size
    schema = TensorDatasetSchema(
        features=Schema([TensorSpec(np.dtype(np.uint8), (-1, channels, size, size), "images")]),
        targets=Schema([TensorSpec(np.dtype(np.int64), (-1,), "labels")]))
    profile = {"image_shape": [channels, size, size], "classes": data.num_classes,
               **{f"{split}_images": len(labels) for split in SPLITS
                  if (labels := getattr(data, f"y_{split}")) is not None}}
    return Dataset(name=data.name, digest=data_digest(data), source_type=source_type,
                   source=json.dumps(source), schema=json.dumps(schema.to_dict()),
                   profile=json.dumps(profile))
