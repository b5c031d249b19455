"""Where a search's wall time goes: training against everything else, per trial and in total.

Runs the README's default search (and, with ``--variants default,one-epoch``, the same search
with 1 epoch per network, where the overhead weighs most) into a fresh MLflow store, then splits
each trial's wall time, as the driver saw it (its MLflow run's start to end), into the phases the
trial reports (``trainables.metrics.phases``: setup, train, emissions, validation, checkpoint,
test, latency, scoring) and ``outside``: what no phase holds (the trial's process starting and
importing torch, Tune's bookkeeping, the driver's MLflow calls, the last report).

    python benchmarks/overhead.py --out benchmarks/results/overhead-cpu.json

A trial's overhead (wall minus training) is split in two: ``measuring``, the evaluation the
protocol asks for (validation every epoch, test accuracy, CPU latency, the stage features and
their scores), and ``service``, what running it as a Tune trial adds (setup, emissions
bookkeeping, checkpoints and reports, and what no phase holds).

Training fraction: the trials' training seconds, each times the slots it held, over the search's
wall seconds times the trials that run at once (2): 1.0 would mean both slots train all the time.
A trial holds one slot, or both when it trains alone on CPUs (the found network, T after a reused
A: it then holds its missing twin's CPUs and trains with their threads, tag
``nas.train.threads``).  ``idle_slot_seconds``: slot time no trial held while the trials ran (the
slot of A waiting for T, the deeper network, to end its iteration).  The goal of the overhead
issue: median per-trial overhead (wall minus training) at most 1 s, training fraction at least
0.75, the default search at most 90 s on the 2-core CPU machine.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
from benchmark_io import environment, write_json  # this folder (scripts run from here)
from mlflow.tracking import MlflowClient

from nas_service.cli.arguments import parse_config
from nas_service.methods.stagewise import search
from nas_service.tracking.queries import child_runs
from nas_service.tune.experiment import MAX_CONCURRENT_TRIALS
from trainables.metrics.phases import PHASES

VARIANTS = {"default": [], "one-epoch": ["--epochs", "1"]}
MEASURING = ("validation", "test", "latency", "scoring")


def trial_rows(client: MlflowClient, parent_run_id: str, cpus_per_trial: float) -> list[dict]:
    """Per child run: its wall seconds as the driver logged them, each phase and ``outside``, and
    the slots it held (its threads, one per CPU it held, over ``cpus_per_trial``)."""
    rows = []
    for run in sorted(child_runs(client, parent_run_id), key=lambda r: r.info.start_time):
        wall = (run.info.end_time - run.info.start_time) / 1000
        phases = {name: run.data.metrics.get(f"phase_seconds/{name}", 0.0) for name in PHASES}
        overhead = wall - phases["train"]
        measuring = sum(phases[name] for name in MEASURING)
        slots = max(1, round(int(run.data.tags["nas.train.threads"]) / max(1.0, cpus_per_trial)))
        rows.append(
            {
                "trial": run.info.run_name,
                "slots": slots,
                "wall": wall,
                **phases,
                "outside": wall - sum(phases.values()),
                "overhead": overhead,
                "measuring": measuring,
                "service": overhead - measuring,
            }
        )
    return rows


def measure(flags: list[str], folder: Path) -> dict:
    """One search with ``flags`` in ``folder``: its wall time, trials and the split."""
    config = parse_config(
        [
            *flags,
            "--tracking-uri",
            f"sqlite:///{folder / 'mlflow.db'}",
            "--storage-path",
            str(folder / "nas_results"),
            "--name",
            "overhead",
        ]
    )
    started = time.perf_counter()
    record = search(config)
    wall = time.perf_counter() - started
    client = MlflowClient(config.tracking_uri)
    rows = trial_rows(client, record["parent_run_id"], config.cpus_per_trial)
    training = sum(row["train"] * row["slots"] for row in rows)
    parent = client.get_run(record["parent_run_id"]).info
    children = [run.info for run in child_runs(client, record["parent_run_id"])]
    first = min(run.start_time for run in children)
    last = max(run.end_time for run in children)
    return {
        "flags": flags,
        "search_wall_seconds": wall,
        # the driver before the first trial ran (data, Ray, MLflow, the scoring actors) and
        # after the last one ended (decisions, the found model, the report)
        "driver_seconds": {
            "before_first_trial": (first - parent.start_time) / 1000,
            "trials": (last - first) / 1000,
            "after_last_trial": (parent.end_time - last) / 1000,
            "outside_the_parent_run": wall - (parent.end_time - parent.start_time) / 1000,
        },
        "idle_slot_seconds": MAX_CONCURRENT_TRIALS * (last - first) / 1000
        - sum(row["wall"] * row["slots"] for row in rows),
        "trials": rows,
        "phase_totals": {name: sum(row[name] for row in rows) for name in (*PHASES, "outside")},
        "median_trial_overhead_seconds": statistics.median(row["overhead"] for row in rows),
        "median_trial_measuring_seconds": statistics.median(row["measuring"] for row in rows),
        "median_trial_service_seconds": statistics.median(row["service"] for row in rows),
        "training_fraction": training / (wall * MAX_CONCURRENT_TRIALS),
        "found": record["depths"],
    }


def print_result(name: str, result: dict) -> None:
    columns = ["slots", "wall", *PHASES, "outside"]
    print(
        f"\n{name} ({' '.join(result['flags']) or 'no flags'}): search "
        f"{result['search_wall_seconds']:.1f} s, found {result['found']}"
    )
    print(f"{'trial':>16} " + " ".join(f"{c:>10}" for c in columns))
    for row in result["trials"]:
        print(f"{row['trial']:>16} " + " ".join(f"{row[c]:>10.2f}" for c in columns))
    totals = result["phase_totals"]
    print(
        f"{'total':>16} {'':>10} {sum(r['wall'] for r in result['trials']):>10.2f} "
        + " ".join(f"{totals[c]:>10.2f}" for c in columns[2:])
    )
    print(
        "search: "
        + ", ".join(
            f"{key.replace('_', ' ')} {value:.1f} s" for key, value in result["driver_seconds"].items()
        )
        + f"; slots idle while trials ran {result['idle_slot_seconds']:.1f} s"
    )
    print(
        f"median overhead per trial (wall - train): "
        f"{result['median_trial_overhead_seconds']:.2f} s (measuring "
        f"{result['median_trial_measuring_seconds']:.2f} s, service "
        f"{result['median_trial_service_seconds']:.2f} s); training fraction "
        f"{result['training_fraction']:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--variants", default="default,one-epoch", help=f"comma-separated, of {', '.join(VARIANTS)}"
    )
    parser.add_argument(
        "--flags",
        default="",
        help="extra flags for every search, e.g. '--iterations 1 --m0 1' for a smoke run",
    )
    parser.add_argument("--out", help="JSON file to write")
    args = parser.parse_args()
    results = {"environment": environment(torch.device("cpu")), "variants": {}}
    for name in args.variants.split(","):
        with tempfile.TemporaryDirectory() as folder:
            result = measure([*VARIANTS[name], *args.flags.split()], Path(folder))
        print_result(name, result)
        results["variants"][name] = result
    write_json(args.out, results)


if __name__ == "__main__":
    main()
