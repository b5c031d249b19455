"""Small data sets written in real formats (IDX, CIFAR pickles), for the loader tests
(tests/unit/test_datasets.py) and the bad-input cases (tests/integration/test_bad_input.py)."""

import gzip
import pickle

import numpy as np


def write_idx(path, array: np.ndarray, compress: bool) -> None:
    magic = (0x0800 | array.ndim).to_bytes(4, "big")
    header = magic + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    if compress:
        with gzip.open(path, "wb") as handle:
            handle.write(payload)
    else:
        path.write_bytes(payload)


def make_idx_folder(folder, compress: bool, n_train=60, n_test=20, size=12, classes=3):
    rng = np.random.default_rng(0)
    suffix = ".gz" if compress else ""
    sets = {}
    for split, count in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (count, size, size), dtype=np.uint8)
        labels = np.arange(count) % classes
        write_idx(folder / f"{split}-images-idx3-ubyte{suffix}", images, compress)
        write_idx(folder / f"{split}-labels-idx1-ubyte{suffix}", labels, compress)
        sets[split] = (images, labels)
    return sets


def write_cifar(folder, name: str, per_file: int = 20):
    rng = np.random.default_rng(1)
    if name == "cifar10":
        files = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
        root, key, classes = folder / "cifar-10-batches-py", b"labels", 10
    else:
        files = ["train", "test"]
        root, key, classes = folder / "cifar-100-python", b"fine_labels", 100
    root.mkdir()
    written = {}
    for file in files:
        data = rng.integers(0, 256, (per_file, 3072), dtype=np.uint8)
        labels = [int(i % classes) for i in range(per_file)]
        with open(root / file, "wb") as handle:
            pickle.dump({b"data": data, key: labels, b"batch_label": file.encode()}, handle)
        written[file] = (data, labels)
    return written
