"""A and T of an iteration packed on one GPU against one after the other, through real Tune trials.

Both runs use the same trainable (``train_candidate``, stage scoring off), the same resources per
trial (``--gpu-fraction`` of a GPU, default 0.5) and the same data; only the number of trials
allowed to run at once differs (2 vs 1).  It prints the wall time of each and their ratio
(sequential / packed: above 1 means packing wins).  On the GPU:

    python benchmarks/pack_a_t.py --out benchmarks/results/pack_a_t-h100.json

CPU smoke run (the test suite): ``--a 1-1-1 --t 2-2-2 --images 300 --epochs 1 --gpu-fraction 0``.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import ray
import torch
from benchmark_io import environment, local_ray, write_json  # this folder (scripts run from here)
from ray import tune

from trainables.datasets import load_dataset
from trainables.protocol import TrainingConfig
from trainables.settings import TrialSettings
from trainables.spec import parse_depths
from trainables.trainable import train_candidate


def fit_seconds(
    settings: TrialSettings, candidates: list[tuple[int, ...]], resources: dict, concurrent: int, storage: str
) -> float:
    """Wall seconds for Tune to train ``candidates`` with at most ``concurrent`` at a time."""
    trainable = tune.with_resources(
        tune.with_parameters(train_candidate, settings=settings, scorers=[]), resources
    )
    space = {"depths": tune.grid_search([list(d) for d in candidates]), "role": "A", "iteration": 1}
    tuner = tune.Tuner(
        trainable,
        param_space=space,
        tune_config=tune.TuneConfig(max_concurrent_trials=concurrent, reuse_actors=False),
        run_config=tune.RunConfig(storage_path=storage, verbose=0, name=f"pack-{concurrent}"),
    )
    started = time.perf_counter()
    results = tuner.fit()
    seconds = time.perf_counter() - started
    if results.errors:
        raise RuntimeError(f"a trial failed: {results.errors[0]}")
    return seconds


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--a", default="9-9-9", help="architecture A (ResNet-56)")
    parser.add_argument("--t", default="11-11-11", help="architecture T (A deepened by 2)")
    parser.add_argument("--images", type=int, default=20_000, help="synthetic training images")
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--gpu-fraction", type=float, default=0.5 if torch.cuda.is_available() else 0.0)
    parser.add_argument("--compile", choices=("auto", "on", "off"), default="off")
    parser.add_argument("--out", help="write the results as JSON here")
    args = parser.parse_args(argv)

    # synthetic.load keeps a fifth as test images and a fifth of the rest for validation
    data = load_dataset(
        "synthetic", image_size=args.image_size, num_samples=round(args.images / 0.64), seed=0
    )
    resources = {"cpu": 1, "gpu": args.gpu_fraction}
    candidates = [parse_depths(args.a), parse_depths(args.t)]
    with local_ray(include_dashboard=False), tempfile.TemporaryDirectory() as storage:
        settings = TrialSettings(
            data_source=ray.put(data),
            criterion="plsvip",
            scoring_samples=10,
            seed=0,
            training=TrainingConfig(epochs=args.epochs, lr=0.05, batch_size=args.batch_size),
            gpus_per_trial=args.gpu_fraction,
            score_stages=False,
            compile=args.compile,
        )
        sequential = fit_seconds(settings, candidates, resources, 1, storage)
        packed = fit_seconds(settings, candidates, resources, 2, storage)
    device = torch.device("cuda" if args.gpu_fraction else "cpu")
    result = {
        **environment(device),
        "ray": ray.__version__,
        "a": args.a,
        "t": args.t,
        "train_images": len(data.y_train),
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "gpu_fraction": args.gpu_fraction,
        "sequential_s": sequential,
        "packed_s": packed,
        "packed_speedup": sequential / packed,
    }
    print(
        f"A {args.a} + T {args.t}, {args.epochs} epochs on {len(data.y_train)} images: "
        f"sequential {sequential:.1f} s, packed {packed:.1f} s, "
        f"speed-up {result['packed_speedup']:.2f}x",
        flush=True,
    )
    write_json(args.out, result)
    return result


if __name__ == "__main__":
    main()
