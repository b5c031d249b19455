"""Image folders: ``<data-dir>/<class>/<image>`` or ``<data-dir>/{train,val,test}/<class>/<image>``.

Images are listed in torchvision ``ImageFolder``'s order, decoded with Pillow, converted to RGB or grey by
``channels`` and resized to ``image_size`` squares, then held in memory as uint8.  Without a
``val`` folder, validation is split from train; without ``train``, test is split off as well.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image
from torchvision.datasets.folder import IMG_EXTENSIONS

from trainables.datasets.errors import DatasetError
from trainables.datasets.splits import DataSplits, from_train_test, stratified_split


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
        raise DatasetError(f"{folder} is not an image folder: it has no <class>/<image> "
                           "subfolders")
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
            raise DatasetError(f"{folder / name} holds no images (files ending in "
                               f"{', '.join(IMG_EXTENSIONS)})")
        samples += images
    return classes, samples


def _read_folder(folder: Path, image_size: int, channels: int, classes: list[str] | None):
    found_classes, samples = _list_images(folder)
    if classes is not None and found_classes != classes:
        raise DatasetError(f"{folder} has classes {found_classes}, the train folder has {classes}")
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
    return images, labels, found_classes


def load(data_dir: str | None = None, seed: int = 0, val_fraction: float = 0.1,
         image_size: int = 32, channels: int = 3, **_) -> DataSplits:
    if not data_dir:
        raise DatasetError("--data-dir is required for dataset 'imagefolder': a folder of "
                           "<class>/<image> files, or train/ and test/ folders of them")
    root = Path(data_dir)
    if not root.is_dir():
        raise DatasetError(f"--data-dir {root} does not exist: put <class>/<image> folders there")
    name = f"imagefolder:{root.name}"
    if not (root / "train").is_dir():
        images, labels, classes = _read_folder(root, image_size, channels, None)
        x_train, x_test, y_train, y_test = stratified_split(images, labels, 0.2, seed)
        return from_train_test(name, x_train, y_train, x_test, y_test, len(classes), True,
                               val_fraction, seed)
    x_train, y_train, classes = _read_folder(root / "train", image_size, channels, None)
    x_test = y_test = None
    if (root / "test").is_dir():
        x_test, y_test, _ = _read_folder(root / "test", image_size, channels, classes)
    if (root / "val").is_dir():
        x_val, y_val, _ = _read_folder(root / "val", image_size, channels, classes)
        return DataSplits(name, x_train, y_train, x_val, y_val, x_test, y_test, len(classes), True)
    return from_train_test(name, x_train, y_train, x_test, y_test, len(classes), True,
                           val_fraction, seed)
