"""The data set of a search as an MLflow dataset: what the UI's Datasets column and a run's
"Datasets used" show, and what tells two searches on the same images apart from two on different
ones.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from mlflow.data.schema import TensorDatasetSchema
from mlflow.entities import Dataset
from mlflow.types.schema import Schema, TensorSpec

from trainables.datasets.mapped import recorded_digest
from trainables.datasets.splits import DataSplits
from trainables.datasets.statistics import SPLITS, data_digest


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
        targets=Schema([TensorSpec(np.dtype(np.int64), (-1,), "labels")]),
    )
    profile = {
        "image_shape": [channels, size, size],
        "classes": data.num_classes,
        **{
            f"{split}_images": len(labels)
            for split in SPLITS
            if (labels := getattr(data, f"y_{split}")) is not None
        },
    }
    return Dataset(
        name=data.name,
        digest=recorded_digest(data) or data_digest(data),
        source_type=source_type,
        source=json.dumps(source),
        schema=json.dumps(schema.to_dict()),
        profile=json.dumps(profile),
    )
