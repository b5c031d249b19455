"""Any image set as one NumPy ``.npz`` file: the simplest way to bring your own data.

``--data-dir`` is the file (or a folder with exactly one ``.npz``).  Arrays: ``x_train``,
``y_train`` and optionally ``x_val``/``y_val`` and ``x_test``/``y_test``; or just ``x`` and ``y``,
from which test (20%) and validation are split, stratified by seed.  Images are uint8 (0..255),
shaped (N, H, W), (N, H, W, C) or (N, C, H, W) with C = 1 or 3, square; labels are integers
0..K-1.  The file is read with ``allow_pickle=False``: no code runs from it.  Horizontal flips
are off (they change the class of digits and text; nothing says these images tolerate them).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from trainables.datasets.errors import DatasetError
from trainables.datasets.splits import DataSplits, check_classes, from_train_test, stratified_split


def _channels_first(images: np.ndarray, path: Path, key: str) -> np.ndarray:
    if images.dtype != np.uint8:
        raise DatasetError(f"{path}: {key} must be uint8 pixels 0..255, got {images.dtype}")
    if images.ndim == 3:
        images = images[:, None]
    elif images.ndim == 4 and images.shape[-1] in (1, 3) and images.shape[1] not in (1, 3):
        images = images.transpose(0, 3, 1, 2)
    if images.ndim != 4 or images.shape[1] not in (1, 3) or images.shape[2] != images.shape[3]:
        raise DatasetError(
            f"{path}: {key} must be (N, H, W), (N, H, W, C) or (N, C, H, W) square "
            f"images with C = 1 or 3, got shape {images.shape}"
        )
    return np.ascontiguousarray(images)


def _labels(labels: np.ndarray, count: int, path: Path, key: str) -> np.ndarray:
    if labels.ndim != 1 or len(labels) != count or not np.issubdtype(labels.dtype, np.integer):
        raise DatasetError(
            f"{path}: {key} must hold {count} integer labels, got {labels.dtype} {labels.shape}"
        )
    return labels.astype(np.int64)


def _find_file(data_dir: str) -> Path:
    path = Path(data_dir)
    if path.is_dir():
        files = sorted(path.glob("*.npz"))
        if len(files) != 1:
            raise DatasetError(f"--data-dir {path} must hold exactly one .npz file, found {len(files)}")
        return files[0]
    if not path.is_file():
        raise DatasetError(f"--data-dir {path} does not exist: give the .npz file")
    return path


def load(data_dir: str | None = None, seed: int = 0, val_fraction: float = 0.1, **_) -> DataSplits:
    if not data_dir:
        raise DatasetError(
            "--data-dir is required for dataset 'npz': the .npz file with x_train, y_train (or x, y)"
        )
    path = _find_file(data_dir)
    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise DatasetError(f"{path} is not a readable .npz file: {error}") from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):  # np.save's single array, renamed .npz
        raise DatasetError(
            f"{path} is one array, not an .npz archive of named arrays: save it "
            "with numpy.savez(path, x_train=..., y_train=...)"
        )
    try:
        archive = dict(loaded)
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise DatasetError(f"{path} is not a readable .npz file: {error}") from None
    splits = {}
    for split in ("train", "val", "test", ""):
        x_key, y_key = (f"x_{split}", f"y_{split}") if split else ("x", "y")
        if x_key in archive:
            if y_key not in archive:
                raise DatasetError(f"{path} has {x_key} but no {y_key}")
            x = _channels_first(archive[x_key], path, x_key)
            splits[split or "all"] = (x, _labels(archive[y_key], len(x), path, y_key))
    if "train" not in splits and "all" not in splits:
        raise DatasetError(
            f"{path} needs x_train and y_train (or x and y); it has {', '.join(sorted(archive)) or 'nothing'}"
        )
    name = f"npz:{path.stem}"
    num_classes = max((int(y.max()) for _, y in splits.values() if len(y)), default=-1) + 1
    check_classes(
        f"{path}: {'y_train' if 'train' in splits else 'y'}",
        splits.get("train", splits.get("all"))[1],
        num_classes,
    )
    if "train" not in splits:
        x, y = splits["all"]
        x_train, x_test, y_train, y_test = stratified_split(x, y, 0.2, seed)
        splits["train"], splits["test"] = (x_train, y_train), (x_test, y_test)
    shapes = {name: x.shape[1:] for name, (x, _) in splits.items()}
    if len(set(shapes.values())) != 1:
        raise DatasetError(f"{path}: every split must have the same image shape, got {shapes}")
    x_test, y_test = splits.get("test", (None, None))
    if "val" in splits:
        return DataSplits(name, *splits["train"], *splits["val"], x_test, y_test, num_classes, False)
    return from_train_test(name, *splits["train"], x_test, y_test, num_classes, False, val_fraction, seed)
