"""Scaling out: one candidate on 1, 2, ... data-parallel workers, and searches side by side.

Candidates (``--workers 1,2``): the same network trained as a real Tune trial of this machine's
Ray, once per layout, measured side by side in one run:

* ``1 x 1``: one process on one CPU (or one GPU), today's trial;
* ``1 x N``: one process holding N CPUs as torch threads, what a lone CPU trial does;
* ``N x 1``: N Ray Train workers (DDP over gloo on CPUs, NCCL on GPUs), one CPU or GPU each.

Speed is training images per second over the epochs after the first (the first holds the
processes' and Ray Train's start); every layout trains at the same global batch and learning
rate, so their accuracies (one per ``--seeds``) should agree within the seeds' spread.

Searches (``--searches``): ``compare --seeds`` run twice as subprocesses, ``--searches-at-once
1`` (one after another) and as many at once as the cluster holds, on the same settings
(``--compare-args``); the wall-time ratio, and whether both found the same networks.

    python scaling.py --workers 1,2 --depths 2-2-2 --epochs 4 --out results/scaling-cpu.json
    python scaling.py --searches --seeds 0,1,2 --compare-args="--iterations 1 --epochs 2"
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
import ray
import torch
from benchmark_io import environment, local_ray, write_json  # this folder (scripts run from here)
from ray import tune

from nas_service.tune.cluster import TrialResources
from trainables.datasets import load_dataset
from trainables.protocol import TrainingConfig
from trainables.settings import TrialSettings
from trainables.spec import parse_depths
from trainables.trainable import train_candidate


def train_once(
    settings: TrialSettings,
    depths: tuple[int, ...],
    workers: int,
    cpus: float,
    gpus: float,
    storage: str,
    name: str,
) -> dict:
    """One candidate trained by one Tune trial in the given layout: its speed and accuracy."""
    settings = replace(
        settings,
        workers_per_trial=workers,
        cpus_per_trial=cpus,
        gpus_per_trial=gpus,
        experiment_path=f"{storage}/{name}",
    )
    each = {"cpu": cpus, "gpu": gpus}
    trainable = tune.with_resources(
        tune.with_parameters(train_candidate, settings=settings, scorers=[]),
        TrialResources(each, each, workers),
    )
    tuner = tune.Tuner(
        trainable,
        param_space={"depths": list(depths), "role": "A", "iteration": 1},
        run_config=tune.RunConfig(storage_path=storage, name=name, verbose=0),
    )
    started = time.perf_counter()
    result = tuner.fit()[0]
    wall = time.perf_counter() - started
    if result.error:
        raise RuntimeError(f"{name} failed: {result.error}")
    later_epochs = result.metrics_dataframe["epoch_seconds"].iloc[1:]
    epoch_seconds = statistics.median(later_epochs)
    images = len(settings.data.y_train)
    return {
        "workers": workers,
        "cpus_per_worker": cpus,
        "gpus_per_worker": gpus,
        "seed": settings.seed,
        "images_per_s": images / epoch_seconds,
        "epoch_seconds": result.metrics_dataframe["epoch_seconds"].tolist(),
        "val_accuracy": result.metrics.get("val_accuracy"),
        "test_accuracy": result.metrics.get("test_accuracy"),
        "trial_wall_s": wall,
    }


def layouts(worker_counts: list[int], gpus: int) -> list[tuple[str, int, float, float]]:
    """(label, workers, CPUs each, GPUs each) of every layout this machine can run."""
    if gpus:
        return [(f"{n} x 1 GPU", n, 1.0, 1.0) for n in worker_counts if n <= gpus]
    chosen = [("1 x 1 CPU", 1, 1.0, 0.0)]
    for n in worker_counts:
        if n > 1:
            chosen += [(f"1 x {n} CPUs", 1, float(n), 0.0), (f"{n} x 1 CPU", n, 1.0, 0.0)]
    return chosen


def candidate_scaling(args) -> dict:
    data = load_dataset(args.dataset, data_dir=args.data_dir, seed=0)
    if args.max_train_images:
        data = data.with_train_subset(args.max_train_images, 0)
    gpus = torch.cuda.device_count()
    depths = parse_depths(args.depths)
    rows = []
    # the dashboard serves the state API that Ray Train asks whether its controller is alive
    with local_ray(include_dashboard=True), tempfile.TemporaryDirectory() as storage:
        base = TrialSettings(
            data_source=ray.put(data),
            criterion="plsvip",
            scoring_samples=None,
            seed=0,
            training=TrainingConfig(epochs=args.epochs, lr=args.lr, batch_size=args.batch_size),
            score_stages=False,
        )
        for seed in args.seeds:
            for label, workers, cpus, gpus_each in layouts(args.workers, gpus):
                row = train_once(
                    replace(base, seed=seed),
                    depths,
                    workers,
                    cpus,
                    gpus_each,
                    storage,
                    f"{label.replace(' ', '')}-seed{seed}",
                )
                rows.append({"layout": label, **row})
                print(
                    f"seed {seed}, {label}: {row['images_per_s']:.0f} images/s, "
                    f"test accuracy {row['test_accuracy']:.4f}",
                    flush=True,
                )
    table = pd.DataFrame(rows)
    summary = (
        table.groupby("layout", sort=False)
        .agg(
            images_per_s=("images_per_s", "median"),
            test_mean=("test_accuracy", "mean"),
            test_std=("test_accuracy", "std"),
        )
        .reset_index()
    )
    reference = summary["images_per_s"].iloc[0]
    summary["speedup_vs_1x1"] = summary["images_per_s"] / reference
    print(summary.to_string(index=False), flush=True)
    return {
        "dataset": args.dataset,
        "train_images": len(data.y_train),
        "depths": args.depths,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "seeds": args.seeds,
        "runs": rows,
        "summary": summary.to_dict("records"),
        **environment(torch.device("cuda" if gpus else "cpu")),
    }


def run_compare(
    seeds: list[int], extra: list[str], storage: str, name: str, at_once: int | None
) -> tuple[float, pd.DataFrame]:
    command = [
        sys.executable,
        "-m",
        "nas_service.compare",
        "--seeds",
        ",".join(map(str, seeds)),
        "--storage-path",
        storage,
        "--tracking-uri",
        f"sqlite:///{storage}/mlflow.db",
        "--name",
        name,
        *extra,
    ]
    if at_once is not None:
        command += ["--searches-at-once", str(at_once)]
    started = time.perf_counter()
    subprocess.run(command, check=True, cwd=storage)
    seconds = time.perf_counter() - started
    return seconds, pd.read_csv(Path(storage) / name / "comparison.csv")


def search_scaling(args) -> dict:
    extra = shlex.split(args.compare_args)
    with tempfile.TemporaryDirectory() as storage:
        sequential, one_by_one = run_compare(args.seeds, extra, storage, "one-by-one", 1)
        concurrent, side_by_side = run_compare(args.seeds, extra, storage, "side-by-side", None)
    columns = ["method", "seed", "best depths", "best val acc (%)"]
    same = one_by_one[columns].equals(side_by_side[columns])
    print(
        f"compare --seeds {','.join(map(str, args.seeds))}: one after another {sequential:.0f} s,"
        f" side by side {concurrent:.0f} s, {sequential / concurrent:.2f}x; same networks "
        f"found: {same}",
        flush=True,
    )
    return {
        "seeds": args.seeds,
        "compare_args": args.compare_args,
        "sequential_s": sequential,
        "concurrent_s": concurrent,
        "speedup": sequential / concurrent,
        "same_networks": bool(same),
        **environment(torch.device("cpu")),
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", default="1,2", help="worker counts of the candidate layouts")
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--data-dir")
    parser.add_argument("--max-train-images", type=int)
    parser.add_argument("--depths", default="2-2-2")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--seeds", default="0", help="seeds, e.g. 0,1,2")
    parser.add_argument(
        "--searches",
        action="store_true",
        help="time compare --seeds one after another vs side by side instead",
    )
    parser.add_argument(
        "--compare-args", default="--iterations 1 --epochs 2", help="further flags of the compare runs"
    )
    parser.add_argument("--out", help="write the results as JSON here")
    args = parser.parse_args(argv)
    args.workers = [int(n) for n in args.workers.split(",")]
    args.seeds = [int(s) for s in args.seeds.split(",")]
    result = search_scaling(args) if args.searches else candidate_scaling(args)
    write_json(args.out, result)
    return json.loads(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
