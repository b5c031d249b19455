"""A data set as a folder of ``.npy`` arrays that every trial memory-maps from shared storage.

For sets too large to hold in the driver and in every node's object store (ImageNet at 64px is
16 GB of uint8), ``stagewise-nas prepare-data`` writes a search's splits once into a folder:
``x_train.npy``, ``y_train.npy``, ``x_val.npy``, ``y_val.npy`` (and ``x_test.npy``,
``y_test.npy``) with ``meta.json``.  ``--dataset mapped --data-dir <folder>`` then opens the
images with ``numpy.load(mmap_mode="r")``: no process reads them into its own memory, the
operating system's page cache holds what the batches touch (shared by every process of a node,
dropped under memory pressure), and a data-parallel rank reads only its share of each batch.
The trials open the folder themselves (``MappedFolder``), so the arrays never pass through Ray's
object store; the folder must be at the same path on every node (NFS, a cloud file system, a
volume every pod mounts).

The validation split is the one the folder was written with: a search's ``--seed`` seeds its
training, not a new split.  Labels (8 bytes per image) are read into memory.  ``meta.json`` also
records the data set's digest and channel moments (``statistics``), so that a search's driver
need not read every image for them.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from trainables.datasets.errors import DatasetError
from trainables.datasets.splits import DataSplits
from trainables.datasets.statistics import Moments, channel_moments, data_digest

META_FILE = "meta.json"
FORMAT = "stagewise-nas mapped data set, version 1"
SPLITS = ("train", "val", "test")


def write_mapped(data: DataSplits, folder: str | Path, source: dict[str, Any]) -> Path:
    """Write ``data``'s splits into the new folder ``folder``; ``source`` (how the splits were
    made: loader, files, seed...) is kept in ``meta.json`` for whoever reads the folder later.

    The files are written into a sibling folder and renamed into place at the end, so a folder
    that exists is complete (an interrupted write leaves only ``<folder>.partial-<pid>``)."""
    folder = check_new_folder(folder)
    partial = folder.with_name(f"{folder.name}.partial-{os.getpid()}")
    try:
        _write_splits(data, partial, source)
        partial.rename(folder)
    except OSError as error:  # a full disk, a read-only mount: no partial folder is left
        shutil.rmtree(partial, ignore_errors=True)
        raise DatasetError(
            f"--output {folder}: cannot write it ({error.strerror or error}); nothing was left there"
        ) from None
    return folder


def _write_splits(data: DataSplits, partial: Path, source: dict[str, Any]) -> None:
    partial.mkdir()
    counts = {}
    for split in SPLITS:
        images, labels = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
        if images is None:
            continue
        np.save(partial / f"x_{split}.npy", np.ascontiguousarray(images))
        np.save(partial / f"y_{split}.npy", np.asarray(labels, dtype=np.int64))
        counts[split] = len(labels)
    mean, std = channel_moments(data.x_train)
    meta = {
        "format": FORMAT,
        "name": data.name,
        "num_classes": data.num_classes,
        "flip_ok": data.flip_ok,
        "image_shape": list(data.x_train.shape[1:]),
        "images": counts,
        "source": source,
        "digest": data_digest(data),
        "channel_moments": {"mean": mean, "std": std},
    }
    (partial / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")


def check_new_folder(folder: str | Path) -> Path:
    """``folder`` as a path to create: an existing one is refused, never overwritten (searches
    may be reading it), and its parent must exist."""
    folder = Path(folder).expanduser()
    if folder.exists():
        raise DatasetError(
            f"--output {folder} already exists: a prepared data set is never "
            "overwritten (searches may read it); choose a new folder"
        )
    if not folder.parent.is_dir():
        raise DatasetError(f"--output {folder}: its parent folder {folder.parent} does not exist")
    if not os.access(folder.parent, os.W_OK | os.X_OK):
        raise DatasetError(f"--output {folder}: its parent folder {folder.parent} is not writable")
    return folder


def _read_meta(folder: Path) -> dict[str, Any]:
    path = folder / META_FILE
    if not path.is_file():
        raise DatasetError(
            f"--data-dir {folder} is not a prepared data set (no {META_FILE}): "
            "write one with stagewise-nas prepare-data --output <folder>"
        )
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise DatasetError(f"{path} cannot be read: {error}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise DatasetError(
            f"{path} is not a prepared data set's description (format "
            f"{meta.get('format') if isinstance(meta, dict) else None!r}, "
            f"expected {FORMAT!r})"
        )
    return meta


def validation_images(folder: str) -> int | None:
    """How many validation images the prepared data set in ``folder`` holds, from its
    ``meta.json`` alone (None where that cannot be read: loading it will say why)."""
    try:
        return int(_read_meta(Path(folder).expanduser())["images"].get("val", 0))
    except (DatasetError, KeyError, TypeError, ValueError, AttributeError):
        return None


def _open_split(folder: Path, split: str, meta: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Images memory-mapped read-only, labels read; both checked against ``meta``."""
    expected = (meta["images"][split], *meta["image_shape"])
    try:
        images = np.load(folder / f"x_{split}.npy", mmap_mode="r", allow_pickle=False)
        labels = np.load(folder / f"y_{split}.npy", allow_pickle=False)
    except (OSError, ValueError) as error:
        raise DatasetError(f"{folder}: the {split} split cannot be read ({error})") from None
    if images.dtype != np.uint8 or images.shape != expected:
        raise DatasetError(
            f"{folder / f'x_{split}.npy'}: holds {images.dtype} {images.shape}, "
            f"{META_FILE} says uint8 {expected}"
        )
    if labels.dtype != np.int64 or labels.shape != expected[:1]:
        raise DatasetError(
            f"{folder / f'y_{split}.npy'}: holds {labels.dtype} {labels.shape}, "
            f"{META_FILE} says int64 ({expected[0]},)"
        )
    return images, labels


def load(data_dir: str | None = None, **_) -> DataSplits:
    """The prepared data set in ``data_dir``, its images memory-mapped."""
    if not data_dir:
        raise DatasetError(
            "--data-dir is required for dataset 'mapped': the folder that stagewise-nas prepare-data wrote"
        )
    folder = Path(data_dir).expanduser()
    if not folder.is_dir():
        raise DatasetError(
            f"--data-dir {folder} does not exist: give the folder that stagewise-nas prepare-data wrote"
        )
    meta = _read_meta(folder)
    splits = {split: _open_split(folder, split, meta) for split in SPLITS if split in meta["images"]}
    if "train" not in splits or "val" not in splits:
        raise DatasetError(f"{folder / META_FILE}: names no train or no validation split")
    x_test, y_test = splits.get("test", (None, None))
    return DataSplits(
        meta["name"],
        *splits["train"],
        *splits["val"],
        x_test,
        y_test,
        int(meta["num_classes"]),
        bool(meta["flip_ok"]),
    )


@dataclass(frozen=True)
class MappedFolder:
    """A prepared data set's folder, as the trials' settings name it: each trial opens it on its
    own node instead of receiving the arrays."""

    folder: str

    def open(self) -> DataSplits:
        """The data set, opened once per process (the maps and labels are kept for its trials)."""
        if not Path(self.folder).is_dir():
            raise DatasetError(
                f"the prepared data set {self.folder} is not on node "
                f"{socket.gethostname()}: a mapped data set must be at the same "
                "path on every node of the cluster (shared storage)"
            )
        return _opened(self.folder)


@cache
def _opened(folder: str) -> DataSplits:
    return load(folder)


def mapped_folder(data: DataSplits) -> MappedFolder | None:
    """The folder ``data`` maps, when its images are still exactly the folder's files (a subset
    or another validation split made in memory is not, and travels through the object store)."""
    arrays = [data.x_train, data.x_val] + ([data.x_test] if data.x_test is not None else [])
    if not all(isinstance(array, np.memmap) and array.filename for array in arrays):
        return None
    folders = {Path(array.filename).parent for array in arrays}
    if len(folders) != 1:
        return None
    folder = folders.pop()
    meta = _read_meta(folder)
    if [len(array) for array in arrays] != [meta["images"].get(split) for split in SPLITS[: len(arrays)]]:
        return None
    return MappedFolder(str(folder))


def recorded_digest(data: DataSplits) -> str | None:
    """The digest ``meta.json`` records for ``data`` when it still maps its prepared folder."""
    folder = mapped_folder(data)
    return _read_meta(Path(folder.folder)).get("digest") if folder else None


def recorded_moments(data: DataSplits) -> Moments | None:
    """The channel moments ``meta.json`` records for ``data`` when it still maps its prepared
    folder (a folder written by hand may have none)."""
    folder = mapped_folder(data)
    moments = _read_meta(Path(folder.folder)).get("channel_moments") if folder else None
    return (tuple(moments["mean"]), tuple(moments["std"])) if moments else None
