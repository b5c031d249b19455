"""What a search computes once from its data set's bytes: the digest that identifies the data
(MLflow's dataset record) and the per-channel moments that every trial normalises with.

Both read every image.  A prepared folder (``mapped``) records them when it is written, so a
search of a set that does not fit in memory does not read all of it before its first trial.

The digest covers every byte of every split, so a different validation split (another
``--seed``), subset (``--max-train-images``) or file gives another digest; MLflow's own numpy
digest reads only the first 10,000 values, a few images.  SHA-256 reads about 1 GB/s: a fraction
of a second for CIFAR-10, a few seconds for ImageNet32.
"""

from __future__ import annotations

import hashlib

import numpy as np

from trainables.datasets.splits import DataSplits

SPLITS = ("train", "val", "test")
DIGEST_LENGTH = 16  # hex characters; MLflow keeps at most 36
Moments = tuple[tuple[float, ...], tuple[float, ...]]


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


def channel_moments(images: np.ndarray, chunk: int = 4096) -> Moments:
    """Per-channel mean and std of uint8 (N, C, H, W) images, in [0, 1] units (float64).

    Accumulated over chunks of images so that a CIFAR-sized set never exists as float64 at once.
    A full pass over the images (12.4 s for an ImageNet32-sized set on one core of the dev
    CPU), which is why a search computes them once, in the driver, for all its trials
    (``TrialSettings``), and a prepared folder records them.
    """
    total = np.zeros(images.shape[1])
    total_squares = np.zeros(images.shape[1])
    for start in range(0, len(images), chunk):
        block = images[start : start + chunk].astype(np.float64) / 255.0
        total += block.sum(axis=(0, 2, 3))
        total_squares += np.square(block).sum(axis=(0, 2, 3))
    count = images.shape[0] * images.shape[2] * images.shape[3]
    mean = total / count
    std = np.sqrt(np.maximum(total_squares / count - mean**2, 1e-6))
    return tuple(mean.tolist()), tuple(std.tolist())
