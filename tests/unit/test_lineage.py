"""The data set as an MLflow dataset: a digest of every byte of every split, and the record the
UI shows (source, schema, profile)."""

import json

import numpy as np

from nas_service.tracking.lineage import dataset_record
from trainables.datasets import load_dataset
from trainables.datasets.statistics import data_digest


def test_the_digest_covers_every_split_and_every_byte():
    data = load_dataset("digits", seed=0)
    assert data_digest(data) == data_digest(load_dataset("digits", seed=0))  # deterministic
    assert data_digest(data) != data_digest(load_dataset("digits", seed=1))  # another split
    # one pixel of the last test image, beyond the 10,000 values MLflow's own digest reads
    changed = data.x_test.copy()
    changed[-1, 0, -1, -1] ^= 1
    edited = type(data)(**{**vars(data), "x_test": changed})
    assert data_digest(edited) != data_digest(data)
    relabelled = type(data)(**{**vars(data), "y_val": np.roll(data.y_val, 1)})
    assert data_digest(relabelled) != data_digest(data)
    # no validation split (--val-fraction 0): its shape still counts
    assert data_digest(data.with_val_fraction(0, 0)) != data_digest(data)


def test_the_record_names_the_source_shapes_and_split_sizes(tmp_path):
    data = load_dataset("digits", seed=0)
    record = dataset_record(data, "digits", None)
    assert (record.name, record.source_type, json.loads(record.source)) == (
        "digits",
        "code",
        {"loader": "digits"},
    )
    assert record.digest == data_digest(data) and len(record.digest) == 16
    profile = json.loads(record.profile)
    assert profile == {
        "image_shape": [1, 8, 8],
        "classes": 10,
        "train_images": len(data.y_train),
        "val_images": len(data.y_val),
        "test_images": len(data.y_test),
    }
    assert sum(profile[f"{split}_images"] for split in ("train", "val", "test")) == 1797
    schema = json.loads(json.loads(record.schema)["mlflow_tensorspec"]["features"])
    assert schema == [
        {"type": "tensor", "tensor-spec": {"dtype": "uint8", "shape": [-1, 1, 8, 8]}, "name": "images"}
    ]
    # files: the folder, absolute, as the source
    local = dataset_record(data, "idx", str(tmp_path / "." / "fmnist"))
    assert (local.source_type, json.loads(local.source)) == ("local", {"uri": str(tmp_path / "fmnist")})
