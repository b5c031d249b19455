"""Long-run check: does the driver's memory grow with the number of trials?

Runs a random search of ``--trials`` networks on digits through the real service path
(``nas_service.methods.baselines``: Tune, the MLflow callback, checkpoints) and prints the driver's
resident memory before, after every ``--every`` finished trials, and at the end, with the growth
per trial.  Ray has had driver memory growth bugs; a steady slope here is one.

    python benchmarks/soak.py --trials 50
"""

from __future__ import annotations

import argparse
import tempfile
import time

import psutil
from benchmark_io import write_json  # this folder (scripts run from here)
from ray import tune

from nas_service.cli.arguments import parse_config
from nas_service.methods.baselines import baseline


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 1e6


class MemoryProbe(tune.Callback):
    """Samples the driver's RSS each time ``every`` more trials have completed."""

    def __init__(self, every: int) -> None:
        self.every = every
        self.completed = 0
        self.samples: list[tuple[int, float]] = [(0, rss_mb())]

    def on_trial_complete(self, iteration, trials, trial, **info) -> None:
        self.completed += 1
        if self.completed % self.every == 0:
            self.samples.append((self.completed, rss_mb()))
            print(f"[soak] {self.completed} trials: driver RSS {self.samples[-1][1]:.0f} MB", flush=True)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--every", type=int, default=10, help="sample every N trials (< trials)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--out", help="write the samples as JSON here")
    args = parser.parse_args(argv)
    started_rss = rss_mb()
    probe = MemoryProbe(args.every)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        config = parse_config(
            [
                "--m0",
                "1",
                "--iterations",
                "2",
                "--epochs",
                str(args.epochs),
                "--storage-path",
                folder,
                "--name",
                "soak",
                "--tracking-uri",
                f"sqlite:///{folder}/mlflow.db",
            ]
        )
        baseline(config, "random", samples=args.trials, callbacks=(probe,))
    ended_rss = rss_mb()
    # growth after the first sample: by then every module is imported and every cache warm
    (first_count, first_rss), (last_count, last_rss) = probe.samples[1], probe.samples[-1]
    slope = (last_rss - first_rss) / max(1, last_count - first_count)
    result = {
        "trials": args.trials,
        "seconds": time.perf_counter() - started,
        "rss_mb_start": started_rss,
        "rss_mb_end": ended_rss,
        "samples": probe.samples,
        "mb_per_trial_after_first_sample": slope,
    }
    print(
        f"[soak] {args.trials} trials in {result['seconds']:.0f} s; driver RSS "
        f"{started_rss:.0f} MB at start, {ended_rss:.0f} MB at the end; {slope:.2f} MB per "
        f"trial from trial {first_count} to {last_count}",
        flush=True,
    )
    write_json(args.out, result)
    return result


if __name__ == "__main__":
    main()
