"""What training from a memory-mapped data set (``--dataset mapped``) costs against arrays in
memory: the batches of one epoch as a CPU trial draws them (shuffled, gathered, normalised,
cropped and flipped), side by side from three sources of the same images:

- ``memory``: the arrays in this process (as from Ray's object store);
- ``mapped, cached``: the prepared folder's files, every page already in the page cache;
- ``mapped, from disk``: the same files after their pages were dropped from the cache
  (``posix_fadvise(DONTNEED)``; ``page_cache_mb`` checks that they were), so each batch reads
  its images from the disk: the first epoch on a node whose cache does not hold the set.

Sources alternate over ``--repeats`` rounds; images/s are medians.  A source is a bottleneck only
where its images/s come near the trial's training rate (``scaling.py``, ``train_throughput.py``).

    cd benchmarks && python mapped_reads.py --out results/mapped_reads-cpu.json
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from benchmark_io import environment, resident_mb, write_json  # this folder (scripts run from here)
from data_memory import synthetic_set

from trainables.datasets import load_dataset
from trainables.datasets.mapped import write_mapped
from trainables.training import ImageBatches, channel_stats

SOURCES = ("memory", "mapped, cached", "mapped, from disk")


def drop_from_page_cache(folder: Path) -> None:
    """Ask the kernel to forget the files' clean pages (no process maps them now)."""
    for path in folder.glob("*.npy"):
        descriptor = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(descriptor)


def epoch_seconds(images: np.ndarray, labels: np.ndarray, mean, std, batch_size: int, seed: int) -> float:
    """One epoch of a CPU trial's training batches from ``images``."""
    batches = ImageBatches(images, labels, mean, std, torch.device("cpu"), on_device=False)
    generator = torch.Generator().manual_seed(seed)
    started = time.perf_counter()
    for _ in batches.batches(batch_size, generator, augment_padding=4, flip=True):
        pass
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=200_000)
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", help="write the numbers as JSON here")
    args = parser.parse_args(argv)
    data = synthetic_set(args.images, 1000, args.image_size)
    mean, std = channel_stats(data.x_train)
    seconds = {source: [] for source in SOURCES}
    cache = {}
    with tempfile.TemporaryDirectory() as folder:
        prepared = write_mapped(data, Path(folder) / "prepared", {"dataset": "synthetic"})
        for round_ in range(args.repeats):
            for source in SOURCES:
                if source == "memory":
                    images, labels = data.x_train, data.y_train
                else:
                    images = labels = None  # unmapped: the kernel keeps pages a map still holds
                    gc.collect()
                    if source == "mapped, from disk":
                        drop_from_page_cache(prepared)
                    cache[source] = resident_mb(prepared)
                    mapped = load_dataset("mapped", data_dir=str(prepared))
                    images, labels = mapped.x_train, mapped.y_train
                    del mapped
                seconds[source].append(epoch_seconds(images, labels, mean, std, args.batch_size, round_))
    rows = []
    for source in SOURCES:
        per_epoch = statistics.median(seconds[source])
        rows.append(
            {
                "source": source,
                "epoch_seconds": seconds[source],
                "images_per_s": args.images / per_epoch,
                "vs_memory": statistics.median(seconds["memory"]) / per_epoch,
                "page_cache_mb_before": cache.get(source),
            }
        )
    result = {
        "environment": environment(torch.device("cpu")),
        "images": args.images,
        "image_size": args.image_size,
        "batch_size": args.batch_size,
        "rows": rows,
    }
    for row in rows:
        cached = (
            ""
            if row["page_cache_mb_before"] is None
            else f"  (files in the page cache before: {row['page_cache_mb_before']:,.0f} MB)"
        )
        print(
            f"{row['source']:<18} {row['images_per_s']:>10,.0f} images/s  "
            f"x{row['vs_memory']:.2f} of memory{cached}"
        )
    write_json(args.out, result)
    return result


if __name__ == "__main__":
    main()
