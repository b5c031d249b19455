"""``prepare-data`` and ``--dataset mapped``: a data set written once as ``.npy`` files that every
trial memory-maps from shared storage, with the same splits as the original files."""

import json
from pathlib import Path

import numpy as np
import pytest

from nas_service.cli.arguments import parse_arguments, parse_config
from nas_service.cli.prepare_data import main as prepare_main
from nas_service.core.errors import ConfigError
from nas_service.tracking.lineage import dataset_record
from nas_service.tune.experiment import normalisation_moments
from trainables.datasets import DatasetError, load_dataset
from trainables.datasets.mapped import (
    MappedFolder,
    mapped_folder,
    recorded_digest,
    recorded_moments,
    write_mapped,
)
from trainables.datasets.statistics import channel_moments, data_digest


def prepare(tmp_path, *flags) -> str:
    folder = tmp_path / "prepared"
    assert prepare_main(["--output", str(folder), *flags]) == 0
    return str(folder)


def test_a_prepared_folder_holds_the_splits_a_search_with_the_same_flags_makes(tmp_path, capsys):
    folder = prepare(tmp_path, "--max-train-images", "300", "--seed", "3")
    assert (
        f"written to {folder}: search it with --dataset mapped --data-dir {folder}" in capsys.readouterr().out
    )
    original = parse_config(["--max-train-images", "300", "--seed", "3"]).load_data()
    mapped = parse_config(["--dataset", "mapped", "--data-dir", folder]).load_data()
    assert data_digest(mapped) == data_digest(original)  # every byte of every split, in order
    assert (mapped.name, mapped.num_classes, mapped.flip_ok) == ("digits", 10, False)
    for images in (mapped.x_train, mapped.x_val, mapped.x_test):
        assert isinstance(images, np.memmap) and not images.flags.writeable
    assert mapped_folder(mapped) == MappedFolder(folder)
    meta = json.loads((tmp_path / "prepared" / "meta.json").read_text())
    assert meta["images"] == {"train": 300, "val": len(original.y_val), "test": len(original.y_test)}
    assert meta["source"] == {
        "dataset": "digits",
        "data_dir": None,
        "image_size": None,
        "val_fraction": None,
        "max_train_images": 300,
        "seed": 3,
    }
    mean, std = channel_moments(original.x_train)
    assert meta["digest"] == data_digest(original)
    assert meta["channel_moments"] == {"mean": list(mean), "std": list(std)}


def test_a_search_of_a_prepared_folder_reads_its_digest_and_moments_from_meta(tmp_path, monkeypatch):
    """What the driver would otherwise read every image for (the MLflow dataset's digest, the
    normalisation) comes from meta.json; a subset made in memory computes its own."""
    folder = prepare(tmp_path)
    original = load_dataset("digits", seed=0)
    expected_digest, expected_moments = data_digest(original), channel_moments(original.x_train)
    for name in ("nas_service.tracking.lineage.data_digest", "nas_service.tune.experiment.channel_moments"):
        monkeypatch.setattr(name, pytest.fail)
    mapped = load_dataset("mapped", data_dir=folder)
    assert dataset_record(mapped, "mapped", folder).digest == expected_digest
    assert normalisation_moments(mapped) == expected_moments
    monkeypatch.undo()
    subset = mapped.with_train_subset(100, 0)
    assert recorded_digest(subset) is None and recorded_moments(subset) is None
    assert normalisation_moments(subset) == channel_moments(subset.x_train)


def test_a_subset_of_a_mapped_set_is_made_in_memory_and_no_longer_maps_the_folder(tmp_path):
    folder = prepare(tmp_path)
    full = load_dataset("mapped", data_dir=folder)
    subset = parse_config(
        ["--dataset", "mapped", "--data-dir", folder, "--max-train-images", "100"]
    ).load_data()
    assert len(subset.y_train) == 100 and not isinstance(subset.x_train, np.memmap)
    assert mapped_folder(subset) is None and mapped_folder(full) == MappedFolder(folder)
    # the same images as splitting the whole arrays (only the kept ones are copied)
    reference = load_dataset("digits", seed=0).with_train_subset(100, 0)
    assert np.array_equal(subset.x_train, reference.x_train)
    assert np.array_equal(subset.y_train, reference.y_train)


def test_a_prepared_folder_is_never_overwritten_nor_read_half_written(tmp_path):
    data = load_dataset("synthetic", image_size=8, num_samples=200, seed=0)
    folder = write_mapped(data, tmp_path / "set", {"dataset": "synthetic"})
    before = (folder / "x_train.npy").read_bytes()
    with pytest.raises(DatasetError, match="already exists: a prepared data set is never overwritten"):
        write_mapped(load_dataset("synthetic", image_size=8, num_samples=200, seed=1), folder, {})
    assert (folder / "x_train.npy").read_bytes() == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["set"]  # no partial folder left
    (folder / "meta.json").unlink()  # what an interrupted write would lack
    with pytest.raises(DatasetError, match=r"is not a prepared data set \(no meta.json\)"):
        load_dataset("mapped", data_dir=str(folder))


def test_an_unwritable_output_is_named_before_loading_and_a_failed_write_leaves_nothing(
    tmp_path, monkeypatch, capsys
):
    import os

    import trainables.datasets.mapped as mapped

    locked = tmp_path / "locked"
    locked.mkdir()
    # as root every folder is writable: the check is os.access's answer, simulated here
    real_access = os.access
    monkeypatch.setattr(
        mapped.os, "access", lambda path, mode: Path(path) != locked and real_access(path, mode)
    )
    assert prepare_main(["--dataset", "digits", "--output", str(locked / "set")]) == 2
    err = capsys.readouterr().err.strip()
    assert (
        err.endswith(f"--output {locked / 'set'}: its parent folder {locked} is not writable")
        and len(err.splitlines()) == 1
    )

    def full_disk(path, array):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(mapped.np, "save", full_disk)
    data = load_dataset("synthetic", image_size=8, num_samples=200, seed=0)
    with pytest.raises(
        DatasetError,
        match=r"--output .*/set: cannot write it \(No space left "
        r"on device\); nothing was left there",
    ):
        write_mapped(data, tmp_path / "set", {})
    assert sorted(path.name for path in tmp_path.iterdir()) == ["locked"]


def test_a_trial_on_a_node_without_the_folder_is_told_to_use_shared_storage(tmp_path):
    with pytest.raises(DatasetError, match="must be at the same path on every node"):
        MappedFolder(str(tmp_path / "elsewhere")).open()


def test_a_folder_written_by_hand_in_chunks_as_the_docs_describe_is_read(tmp_path):
    """docs/extending.md: ``open_memmap`` filled a chunk at a time, then ``meta.json``."""
    source = load_dataset("synthetic", image_size=8, num_samples=300, seed=0)
    folder = tmp_path / "by-hand"
    folder.mkdir()
    counts = {}
    for split in ("train", "val"):
        images, labels = getattr(source, f"x_{split}"), getattr(source, f"y_{split}")
        target = np.lib.format.open_memmap(
            folder / f"x_{split}.npy", mode="w+", dtype=np.uint8, shape=images.shape
        )
        for start in range(0, len(images), 64):
            target[start : start + 64] = images[start : start + 64]
        target.flush()
        del target
        np.save(folder / f"y_{split}.npy", labels.astype(np.int64))
        counts[split] = len(labels)
    (folder / "meta.json").write_text(
        json.dumps(
            {
                "format": "stagewise-nas mapped data set, version 1",
                "name": "by-hand",
                "num_classes": source.num_classes,
                "flip_ok": True,
                "image_shape": [3, 8, 8],
                "images": counts,
                "source": {"how": "a test"},
            }
        )
    )
    data = parse_config(["--dataset", "mapped", "--data-dir", str(folder)]).load_data()
    assert (data.name, data.flip_ok, data.x_test) == ("by-hand", True, None)
    assert np.array_equal(data.x_train, source.x_train) and np.array_equal(data.y_val, source.y_val)
    assert mapped_folder(data) == MappedFolder(str(folder))
    # without recorded statistics the search computes them
    assert recorded_digest(data) is None and recorded_moments(data) is None
    # a file that does not match what meta.json says is named
    np.save(folder / "y_val.npy", source.y_val[:-1].astype(np.int64))
    with pytest.raises(
        DatasetError,
        match=r"y_val.npy: holds int64 \(\d+,\), meta.json says "
        r"int64 \(\d+,\)",
    ):
        load_dataset("mapped", data_dir=str(folder))


def test_a_prepared_set_without_validation_images_is_for_the_stagewise_search_only(tmp_path):
    folder = prepare(tmp_path, "--val-fraction", "0")
    flags = {
        "dataset": "mapped",
        "data_dir": folder,
        "storage_path": str(tmp_path / "runs"),
        "tracking_uri": f"sqlite:///{tmp_path}/mlflow.db",
    }
    assert len(parse_arguments(flags).load_data().y_val) == 0  # stage-wise trains on all of it
    with pytest.raises(
        ConfigError,
        match=f"--data-dir '{folder}': this prepared data set has no "
        r"validation split \(it was written with --val-fraction 0\)",
    ):
        parse_arguments(flags, needs_validation=True)  # train, baselines, compare, transfer-to
