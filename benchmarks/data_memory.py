"""Memory a search spends on its data set: in the driver, in Ray's object store, in each trial.

Builds a synthetic uint8 array set (by default ImageNet32's size: 1,281,167 training images of
3x32x32 and 50,000 for validation, 4.1 GB), starts a search's driver side with the data as ``run``
does (``start_experiment``: Ray, the MLflow parent run, the trial settings), drops the caller's
own reference to the arrays, then starts two processes that do what a trial does with the data
before its first step (the channel statistics, the training and validation batches on the CPU,
from the settings that ``tune.with_parameters`` ships) and reports what each holds.  Unique memory
(USS) is what a process holds alone, its heap (anonymous memory) what it allocated itself; the
object store's pages are shared by every process of a node and counted once, under
``object_store_mb``.  With ``--mapped`` the set is first written as a prepared folder
(``prepare-data``'s format) and searched as ``--dataset mapped``: each trial maps the files, and
the page cache, not the object store, holds what they read (``page_cache_mb``: the files' pages
resident in memory, shared by every process that maps them).  ``start_experiment_seconds``: the
driver side of the search's start (Ray, the MLflow parent run, the data set's digest and channel
moments, which a prepared folder records).

    cd benchmarks && python data_memory.py --out results/data_memory-cpu.json
    cd benchmarks && python data_memory.py --mapped --out results/data_memory-cpu-mapped.json
"""

from __future__ import annotations

import argparse
import gc
import re
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
import ray
import torch
from benchmark_io import environment, resident_mb, write_json  # this folder (scripts run from here)

from nas_service.cli.arguments import parse_config
from nas_service.tune.experiment import start_experiment
from trainables.datasets import load_dataset
from trainables.datasets.mapped import write_mapped
from trainables.datasets.splits import DataSplits
from trainables.training import ImageBatches, channel_stats

MB = 1e6


def synthetic_set(train_images: int, val_images: int, size: int) -> DataSplits:
    """Random images in chunks (a float or int64 copy of the whole set never exists)."""
    rng = np.random.default_rng(0)

    def images(count: int) -> np.ndarray:
        array = np.empty((count, 3, size, size), dtype=np.uint8)
        for start in range(0, count, 65_536):
            block = array[start : start + 65_536]
            block[...] = rng.integers(0, 256, block.shape, dtype=np.uint8)
        return array

    def labels(count: int) -> np.ndarray:
        return np.arange(count, dtype=np.int64) % 10

    return DataSplits(
        "synthetic",
        images(train_images),
        labels(train_images),
        images(val_images),
        labels(val_images),
        None,
        None,
        num_classes=10,
        flip_ok=True,
    )


@ray.remote(num_cpus=1)
class TrialDataProbe:
    """What a CPU trial builds from its settings before its first step, and what that holds."""

    def hold(self, settings) -> dict[str, float]:
        data = settings.data
        mean, std = channel_stats(data.x_train)
        self.train = ImageBatches(data.x_train, data.y_train, mean, std, torch.device("cpu"))
        self.val = self.train.sibling(data.x_val, data.y_val)
        return process_memory()


def process_memory() -> dict[str, float]:
    """RSS, USS and the process's own heap (``anonymous_mb``, Linux): object store pages that
    only this process has touched so far count in its USS, not in its heap."""
    gc.collect()
    info = psutil.Process().memory_full_info()
    memory = {"rss_mb": round(info.rss / MB, 1), "uss_mb": round(info.uss / MB, 1)}
    rollup = Path("/proc/self/smaps_rollup")
    if rollup.exists():
        kilobytes = re.search(r"^Anonymous:\s+(\d+) kB", rollup.read_text(), re.MULTILINE)
        memory["anonymous_mb"] = round(int(kilobytes.group(1)) * 1024 / MB, 1)
    return memory


def object_store_mb() -> float:
    """The object store's used memory on this node, as Ray's memory summary states it."""
    from ray._private.internal_api import memory_summary

    summary = memory_summary(ray.get_runtime_context().gcs_address, stats_only=True)
    match = re.search(r"Plasma memory usage (\d+) MiB", summary)
    return round(int(match.group(1)) * 2**20 / MB, 1) if match else float("nan")


def main(argv: list[str] | None = None) -> dict:
    """Measure and print; returns the numbers.  In a process whose Ray is already running (the
    tests') it measures there and leaves that Ray running."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train-images", type=int, default=1_281_167)
    parser.add_argument("--val-images", type=int, default=50_000)
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--trials", type=int, default=2, help="trial processes holding the data")
    parser.add_argument(
        "--mapped",
        action="store_true",
        help="write the set as a prepared folder and search it as --dataset mapped",
    )
    parser.add_argument("--out", help="write the numbers as JSON here")
    args = parser.parse_args(argv)
    ray_was_running = ray.is_initialized()
    store_before = object_store_mb() if ray_was_running else 0.0  # others' objects (the tests')

    data = synthetic_set(args.train_images, args.val_images, args.image_size)
    data_mb = round(
        (data.x_train.nbytes + data.x_val.nbytes + data.y_train.nbytes + data.y_val.nbytes) / MB, 1
    )
    with tempfile.TemporaryDirectory() as folder:
        dataset_flags = []
        if args.mapped:
            prepared = write_mapped(data, Path(folder) / "prepared", {"dataset": "synthetic"})
            data = load_dataset("mapped", data_dir=str(prepared))
            dataset_flags = ["--dataset", "mapped", "--data-dir", str(prepared)]
        config = parse_config(
            [
                "--name",
                "memory",
                "--storage-path",
                folder,
                "--tracking-uri",
                f"sqlite:///{folder}/mlflow.db",
                "--epochs",
                "1",
                *dataset_flags,
            ]
        )
        started = time.perf_counter()
        experiment = start_experiment(config, "train", score_stages=False, data=data)
        start_seconds = time.perf_counter() - started
        del data  # the caller's reference: what stays is the search's own
        driver = process_memory()
        settings = ray.put(experiment.settings)  # what tune.with_parameters does
        probes = [TrialDataProbe.remote() for _ in range(args.trials)]
        trials = ray.get([probe.hold.remote(settings) for probe in probes])
        for probe in probes:
            ray.kill(probe)
        result = {
            "environment": environment(torch.device("cpu")),
            "images": {
                "train": args.train_images,
                "val": args.val_images,
                "shape": [3, args.image_size, args.image_size],
            },
            "data_mb": data_mb,
            "mapped": args.mapped,
            "start_experiment_seconds": round(start_seconds, 2),
            "driver": driver,
            "object_store_mb": round(object_store_mb() - store_before, 1),
            "trials": trials,
        }
        if args.mapped:
            result["page_cache_mb"] = resident_mb(prepared)
        experiment.client.set_terminated(experiment.parent_run_id, "FINISHED")
    if not ray_was_running:
        ray.shutdown()
    print(
        f"data set {data_mb:.0f} MB; the search's start {start_seconds:.1f} s; driver heap "
        f"{driver.get('anonymous_mb', 0):.0f} MB (USS {driver['uss_mb']:.0f} MB); object store "
        f"{result['object_store_mb']:.0f} MB; trial "
        "heap (USS) "
        + ", ".join(f"{trial.get('anonymous_mb', 0):.0f} ({trial['uss_mb']:.0f}) MB" for trial in trials)
        + (f"; mapped files in the page cache {result['page_cache_mb']:.0f} MB" if args.mapped else "")
    )
    write_json(args.out, result)
    return result


if __name__ == "__main__":
    main()
