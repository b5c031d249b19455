"""Seconds per criterion call, and what going through the Ray scoring actor adds.

For N samples (default 2000; ``scoring_cost.py`` times the search's default, every training
image) of 10 classes and F features (16, 64, 256, 1024: the stage feature counts of CIFAR-sized
inputs and beyond), prints the median
seconds of each criterion called directly, then, at one F, a scoring call through a real
``ScoringActor`` against the direct call (their ratio is the actor's overhead: shipping the
features and the remote call).  Goal: every criterion under 1 s at F <= 256.

    python benchmarks/criteria_speed.py --out benchmarks/results/criteria_speed-cpu.json

(Not ``benchmarks/scoring.py``: a script of that name would shadow the ``scoring`` package.)
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import ray
from benchmark_io import environment, local_ray, write_json  # this folder (scripts run from here)

from scoring.actor import create_scoring_pool
from scoring.criteria import CRITERIA, stage_score


def median_seconds(call, repeats: int) -> float:
    call()  # warm-up: imports, BLAS threads
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def stage_features(samples: int, features: int, seed: int = 0):
    """Features with some class signal, like a trained stage's: labels shift a random direction."""
    rng = np.random.default_rng(seed)
    labels = np.arange(samples) % 10
    x = rng.normal(size=(samples, features)) + 0.5 * np.outer(labels, rng.normal(size=features))
    return x, labels


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--features", default="16,64,256,1024")
    parser.add_argument("--actor-features", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", help="write the results as JSON here")
    args = parser.parse_args(argv)
    import torch  # only for the device description

    rows = []
    for count in map(int, args.features.split(",")):
        x, y = stage_features(args.samples, count)
        row = {"features": count}
        for criterion in CRITERIA:
            row[criterion] = median_seconds(lambda x=x, y=y, c=criterion: stage_score(x, y, c), args.repeats)
        rows.append(row)
        print(
            f"N={args.samples} F={count}: " + ", ".join(f"{c} {row[c]:.3f} s" for c in CRITERIA), flush=True
        )

    with local_ray(include_dashboard=False):
        actor = create_scoring_pool(1)[0]
        x, y = stage_features(args.samples, args.actor_features)
        overhead = {}
        for criterion in CRITERIA:
            direct = median_seconds(lambda c=criterion: stage_score(x, y, c), args.repeats)
            remote = median_seconds(
                lambda c=criterion: ray.get(actor.score_stages.remote([x], y, c)), args.repeats
            )
            overhead[criterion] = {"direct_s": direct, "actor_s": remote, "ratio": remote / direct}
            print(
                f"F={args.actor_features} {criterion}: direct {direct:.3f} s, through the actor "
                f"{remote:.3f} s ({remote / direct:.2f}x)",
                flush=True,
            )
        ray.kill(actor)
    result = {
        **environment(torch.device("cpu")),
        "samples": args.samples,
        "seconds": rows,
        "actor_features": args.actor_features,
        "actor_vs_direct": overhead,
    }
    write_json(args.out, result)
    return result


if __name__ == "__main__":
    main()
