"""What scoring every training image costs, per criterion, and what the bootstrap adds.

Stage features shaped like a ResNet-56's on CIFAR-10 (N images; 256, 128 and 64 features for
the three stages after the authors' 8x8 pooling), with a class signal like a trained stage's.
For each criterion it times, side by side in one process: scoring the three stages once (what
every trial does), and ``--replicates-timed`` bootstrap replicates, projected linearly to
``--bootstrap`` replicates (each replicate is one more scoring of a resampled copy, so the cost
is linear in the replicates; the scoring actors split them, so a pool of k actors on k free
cores divides the wall time by about k).

    python benchmarks/scoring_cost.py --samples 50000 --out benchmarks/results/scoring_cost-cpu.json
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from benchmark_io import environment, write_json  # this folder (scripts run from here)

from scoring.bootstrap import bootstrap_stage_scores
from scoring.criteria import CRITERIA, stage_score

RESNET56_STAGE_FEATURES = (256, 128, 64)


def stage_features(samples: int, features: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """float32 features (as trials send them) with labels shifting a random direction."""
    rng = np.random.default_rng(seed)
    labels = np.arange(samples) % 10
    x = rng.normal(size=(samples, features)) + 0.5 * np.outer(labels, rng.normal(size=features))
    return x.astype(np.float32), labels


def seconds(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=50_000)
    parser.add_argument("--features", default=",".join(map(str, RESNET56_STAGE_FEATURES)))
    parser.add_argument("--bootstrap", type=int, default=50, help="replicates to project to")
    parser.add_argument("--replicates-timed", type=int, default=2)
    parser.add_argument("--criteria", default=",".join(CRITERIA))
    parser.add_argument("--out", help="write the results as JSON here")
    args = parser.parse_args(argv)
    import torch  # only for the device description

    stages = [stage_features(args.samples, int(f), seed) for seed, f in enumerate(args.features.split(","))]
    stage_score(*stage_features(100, 8, 0), "plsvip")  # warm-up: imports, BLAS threads
    rows = []
    for criterion in args.criteria.split(","):
        score_s = seconds(lambda c=criterion: [stage_score(x, y, c) for x, y in stages])
        timed_s = seconds(
            lambda c=criterion: [bootstrap_stage_scores(x, y, c, args.replicates_timed, 0) for x, y in stages]
        )
        per_replicate = timed_s / args.replicates_timed
        row = {
            "criterion": criterion,
            "score_seconds": score_s,
            "bootstrap_seconds_per_replicate": per_replicate,
            "bootstrap_seconds_projected": per_replicate * args.bootstrap,
            "replicate_vs_score": per_replicate / score_s,
        }
        rows.append(row)
        print(
            f"{criterion}: the three stages scored once in {score_s:.2f} s; one bootstrap "
            f"replicate {per_replicate:.2f} s ({row['replicate_vs_score']:.2f}x a scoring); "
            f"{args.bootstrap} replicates ~{row['bootstrap_seconds_projected']:.0f} s on one "
            "actor",
            flush=True,
        )
    result = {
        **environment(torch.device("cpu")),
        "samples": args.samples,
        "features": args.features,
        "bootstrap": args.bootstrap,
        "replicates_timed": args.replicates_timed,
        "rows": rows,
    }
    write_json(args.out, result)
    return result


if __name__ == "__main__":
    main()
