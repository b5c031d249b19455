"""Image folders: ``<data-dir>/<class>/<image>`` or ``<data-dir>/{train,val,test}/<class>/<image>``.

Images are listed in torchvision ``ImageFolder``'s order, decoded with Pillow, converted to RGB or grey by
``channels`` and resized to ``image_size`` squares, then held in memory as uint8.  Without a
``val`` folder, validation is split from train; without ``train``, test is split off as well.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
from PIL import Image
from torchvision.datasets.folder import IMG_EXTENSIONS

from trainables.datasets.errors import DatasetError
from trainables.datasets.splits import DataSplits, from_train_test, stratified_split

logger = logging.getLogger(__name__)


def _list_images(folder: Path) -> tuple[list[str], list[tuple[str, int]]]:
    """(classes, (image path, class index) pairs) in torchvision ``ImageFolder``'s order.

    Symbolic links are followed, as ``ImageFolder`` does, but no folder is read twice: a link
    back up the tree would otherwise repeat its images until the path grew too long, and put
    copies of one image in both train and test."""
    try:
        classes = sorted(entry.name for entry in os.scandir(folder) if entry.is_dir())
    except OSError as error:
        raise DatasetError(f"{folder} is not an image folder: {error.strerror}") from None
    if not classes:
        raise DatasetError(f"{folder} is not an image folder: it has no <class>/<image> subfolders")
    samples = []
    for index, name in enumerate(classes):
        seen, found = set(), []
        for root, subfolders, files in os.walk(folder / name, followlinks=True):
            real = os.path.realpath(root)
            if real in seen:
                subfolders.clear()
                continue
            seen.add(real)
            found.append((root, sorted(f for f in files if f.lower().endswith(IMG_EXTENSIONS))))
        images = [(os.path.join(root, f), index) for root, files in sorted(found) for f in files]
        if not images:
            raise DatasetError(
                f"{folder / name} holds no images (files ending in {', '.join(IMG_EXTENSIONS)})"
            )
        samples += images
    return classes, samples


def _reached_once(root: Path, listed: dict[str, list[tuple[str, int]]]) -> dict[str, list[tuple[str, int]]]:
    """``listed`` (split -> (path, class) pairs) with every image file kept under one path.

    A file reached through symbolic links from more than one place (a link to a sibling class,
    to another split, or back up the tree) is read once, where it lies: under the split and
    class of the one path that reaches it without a link.  A file that only links reach (it
    lies outside the data set) is kept when all its paths agree on split and class, and refused
    otherwise, with the paths named: one image is never two classes' or in two splits."""
    real_root = os.path.realpath(root)
    by_file: dict[str, list[tuple[str, str, int]]] = {}
    for split, samples in listed.items():
        for path, label in samples:
            by_file.setdefault(os.path.realpath(path), []).append((split, path, label))
    keep = set()
    for real, reached in by_file.items():
        direct = [
            entry for entry in reached if os.path.join(real_root, os.path.relpath(entry[1], root)) == real
        ]
        if direct:
            keep.add(direct[0][1])
        elif len({(split, label) for split, _, label in reached}) == 1:
            keep.add(min(path for _, path, _ in reached))
        else:
            raise DatasetError(
                f"image {real} is reached through links from "
                f"{' and '.join(path for _, path, _ in reached[:2])}, in two "
                "classes or splits: an image must belong to one; remove a link"
            )
    repeated = sum(len(samples) for samples in listed.values()) - len(keep)
    if repeated:
        logger.warning(
            f"{root}: {repeated} image path(s) lead through links to files the data "
            "set already holds; each file is read once, where it lies"
        )
    return {
        split: [(path, label) for path, label in samples if path in keep] for split, samples in listed.items()
    }


def _decode(samples: list[tuple[str, int]], image_size: int, channels: int) -> tuple[np.ndarray, np.ndarray]:
    mode = "RGB" if channels == 3 else "L"
    images = np.empty((len(samples), channels, image_size, image_size), np.uint8)
    for index, (path, _) in enumerate(samples):
        try:
            with open(path, "rb") as handle:
                picture = Image.open(handle).convert(mode)
        except Image.DecompressionBombError as error:
            raise DatasetError(f"image {path} is too large to decode safely: {error}") from None
        except OSError as error:
            raise DatasetError(f"cannot decode image {path}: {error}") from None
        if picture.size != (image_size, image_size):
            picture = picture.resize((image_size, image_size))
        array = np.asarray(picture, dtype=np.uint8)
        images[index] = array[None] if channels == 1 else array.transpose(2, 0, 1)
    labels = np.asarray([label for _, label in samples], dtype=np.int64)
    return images, labels


def _read_splits(
    root: Path, folders: dict[str, Path], image_size: int, channels: int
) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], list[str]]:
    """Each split's (images, labels) and the classes, the first folder's (every split must have
    the same); every image file read once (``_reached_once``)."""
    listed, classes = {}, None
    for split, folder in folders.items():
        found, listed[split] = _list_images(folder)
        if classes is not None and found != classes:
            raise DatasetError(f"{folder} has classes {found}, the train folder has {classes}")
        classes = classes or found
    samples = _reached_once(root, listed)
    for split, kept in samples.items():
        if not kept:
            raise DatasetError(
                f"{folders[split]}: every image in it is a link to an image of "
                "another split; it holds none of its own"
            )
    return {split: _decode(kept, image_size, channels) for split, kept in samples.items()}, classes


def load(
    data_dir: str | None = None,
    seed: int = 0,
    val_fraction: float = 0.1,
    image_size: int = 32,
    channels: int = 3,
    **_,
) -> DataSplits:
    if not data_dir:
        raise DatasetError(
            "--data-dir is required for dataset 'imagefolder': a folder of "
            "<class>/<image> files, or train/ and test/ folders of them"
        )
    root = Path(data_dir)
    if not root.is_dir():
        raise DatasetError(f"--data-dir {root} does not exist: put <class>/<image> folders there")
    name = f"imagefolder:{root.name}"
    if not (root / "train").is_dir():
        splits, classes = _read_splits(root, {"all": root}, image_size, channels)
        images, labels = splits["all"]
        x_train, x_test, y_train, y_test = stratified_split(images, labels, 0.2, seed)
        return from_train_test(name, x_train, y_train, x_test, y_test, len(classes), True, val_fraction, seed)
    folders = {split: root / split for split in ("train", "test", "val") if (root / split).is_dir()}
    splits, classes = _read_splits(root, folders, image_size, channels)
    x_train, y_train = splits["train"]
    x_test, y_test = splits.get("test", (None, None))
    if "val" in splits:
        x_val, y_val = splits["val"]
        return DataSplits(name, x_train, y_train, x_val, y_val, x_test, y_test, len(classes), True)
    return from_train_test(name, x_train, y_train, x_test, y_test, len(classes), True, val_fraction, seed)
