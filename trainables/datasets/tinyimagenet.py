"""Tiny ImageNet (Stanford CS231n): 200 classes of 64x64 images in its own folder layout.

``--data-dir`` is ``tiny-imagenet-200/`` or its parent: ``wnids.txt`` lists the classes,
``train/<wnid>/images/*.JPEG`` the training images, and ``val/images/*.JPEG`` with
``val/val_annotations.txt`` (file, wnid, box) the labelled validation images, which are our test
split (``test/`` has no labels and is not used).  Validation is held out of train.  Images are
kept at 64x64 unless ``--image-size`` asks otherwise.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from trainables.datasets.errors import DatasetError
from trainables.datasets.splits import DataSplits, from_train_test

NATIVE_SIZE = 64


def _read_images(paths: list[Path], image_size: int) -> np.ndarray:
    images = np.empty((len(paths), 3, image_size, image_size), np.uint8)
    for index, path in enumerate(paths):
        try:
            with Image.open(path) as picture:
                picture = picture.convert("RGB")
                if picture.size != (image_size, image_size):
                    picture = picture.resize((image_size, image_size))
                images[index] = np.asarray(picture, dtype=np.uint8).transpose(2, 0, 1)
        except OSError as error:
            raise DatasetError(f"cannot decode image {path}: {error}") from None
    return images


def _val_annotations(root: Path, class_index: dict[str, int]) -> tuple[list[Path], np.ndarray]:
    annotations = root / "val" / "val_annotations.txt"
    if not annotations.is_file():
        return [], np.empty(0, np.int64)
    paths, labels = [], []
    for number, line in enumerate(annotations.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 2 or fields[1] not in class_index:
            raise DatasetError(
                f"{annotations} line {number}: expected '<file>\\t<wnid>...' with a "
                f"wnid from wnids.txt, got {line[:80]!r}"
            )
        paths.append(root / "val" / "images" / fields[0])
        labels.append(class_index[fields[1]])
    return paths, np.asarray(labels, np.int64)


def load(
    data_dir: str | None = None, seed: int = 0, val_fraction: float = 0.1, image_size: int = NATIVE_SIZE, **_
) -> DataSplits:
    if not data_dir:
        raise DatasetError(
            "--data-dir is required for dataset 'tinyimagenet': the tiny-imagenet-200 folder (or its parent)"
        )
    root = Path(data_dir)
    if (root / "tiny-imagenet-200").is_dir():
        root = root / "tiny-imagenet-200"
    if not (root / "wnids.txt").is_file():
        raise DatasetError(f"--data-dir {root} has no wnids.txt: point it at tiny-imagenet-200/")
    wnids = [line.strip() for line in (root / "wnids.txt").read_text().splitlines() if line.strip()]
    class_index = {wnid: index for index, wnid in enumerate(wnids)}
    train_paths, train_labels = [], []
    for wnid in wnids:
        found = sorted((root / "train" / wnid / "images").glob("*.JPEG"))
        if not found:
            raise DatasetError(f"{root / 'train' / wnid / 'images'} has no .JPEG images")
        train_paths += found
        train_labels += [class_index[wnid]] * len(found)
    test_paths, y_test = _val_annotations(root, class_index)
    x_test = _read_images(test_paths, image_size) if test_paths else None
    return from_train_test(
        "tinyimagenet",
        _read_images(train_paths, image_size),
        np.asarray(train_labels, np.int64),
        x_test,
        y_test if test_paths else None,
        len(wnids),
        flip_ok=True,
        val_fraction=val_fraction,
        seed=seed,
    )
