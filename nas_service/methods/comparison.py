"""Stage-wise, random search, ASHA and Optuna TPE at an equal budget, beside uniform networks
(``stagewise-nas compare``).

Per seed, stage-wise runs first; the training images it processed become the budget of random
search, ASHA and TPE (``nas_service.core.budget``), which search the same depth space with the same
trainable, data, protocol and resources.  Then the uniform networks are trained with the same
protocol (``nas_service.methods.uniform``): the ``--references`` and, for every method's best
network, the uniform networks whose MACs bracket it.  A method's best network is its trial of
highest validation accuracy (the same rule for every method).

Written to ``<storage>/<name>/`` and to an MLflow run tagged ``nas.method = comparison``:
``comparison.md/.csv`` (per method and seed: networks trained, budget used, the best network's
validation and test accuracy, epochs, params and MACs, its uniform gap, the hypervolume of the
method's front, kgCO2eq), ``comparison_trials.csv``, ``pareto.png``, and the study over seeds
(``study.json``, ``study.md``, ``study.png``: mean and spread per method,
``nas_service.core.search_quality``).

``--criteria`` and ``--m0s`` compare stage-wise searches with each other instead
(``nas_service.methods.variants``).

Seeds, criteria and m0s run side by side when the cluster has room for more than one search's
two trials (``nas_service.tune.at_once``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import NamedTuple

import pandas as pd
from mlflow.tracking import MlflowClient

from nas_service.config import SearchConfig
from nas_service.core.candidates import best_by_validation
from nas_service.core.errors import SearchInterrupted
from nas_service.core.search_quality import hypervolume, mean_and_spread, uniform_gap
from nas_service.core.space import DepthSpace
from nas_service.methods.baselines import baseline
from nas_service.methods.stagewise import search
from nas_service.methods.uniform import train_uniform
from nas_service.reporting.comparison_report import (
    FOUND,
    STUDY_COLUMNS,
    STUDY_FILES,
    study_metrics,
    study_record,
    write_study,
)
from nas_service.reporting.report import candidates_frame
from nas_service.tracking.records import experiment_id, log_numbers
from nas_service.tracking.tags import FINAL_RUN_ID_TAG, METHOD_TAG
from nas_service.tune.at_once import run_at_once
from nas_service.tune.cluster import connect, searches_that_fit, trial_resources
from nas_service.tune.experiment import MAX_CONCURRENT_TRIALS
from nas_service.tune.progress import dashboard_hint
from trainables.datasets.splits import DataSplits
from trainables.metrics.size import count_macs
from trainables.metrics.uniform import bracketing_uniform_depths
from trainables.models import build_model
from trainables.spec import format_depths, parse_depths

logger = logging.getLogger(__name__)

BASELINES = ("random", "asha", "tpe")
METHODS = ("stagewise", *BASELINES)


def method_config(
    config: SearchConfig, seed: int, method: str, budget_images: float | None = None
) -> SearchConfig:
    """The settings ``method`` runs with in the comparison: every flag given, with this seed, its
    own name and, for the baselines, stage-wise's spending as budget.  References are trained
    once per seed beside the methods (``train_uniform``), not inside stage-wise."""
    settings = replace(config, seed=seed, references=None, name=f"{config.name}-s{seed}-{method}")
    return settings if method == "stagewise" else replace(settings, budget_images=budget_images)


def run_methods(config: SearchConfig, seed: int, data: DataSplits | None = None) -> dict[str, str]:
    """Stage-wise, then the baselines with the images stage-wise spent; method -> parent run.
    ``data``: the splits of ``seed``, when already loaded."""
    record = search(method_config(config, seed, "stagewise"), data)
    budget_images = record["spent"]["images"]
    logger.info(
        f"compare: stage-wise spent {budget_images:.0f} training images; {', '.join(BASELINES)} get the same"
    )
    parents = {"stagewise": record["parent_run_id"]}
    for method in BASELINES:
        outcome = baseline(method_config(config, seed, method, budget_images), method, data=data)
        parents[method] = outcome["parent_run_id"]
    return parents


def found_network(client: MlflowClient, parent_run_id: str, trials: pd.DataFrame) -> pd.Series | None:
    """The row of the network a stage-wise search returned (its parent's ``nas.final_run_id``);
    ``None`` when it was never trained (a budget ended the search first)."""
    run_id = client.get_run(parent_run_id).data.tags.get(FINAL_RUN_ID_TAG)
    rows = trials[trials["run_id"] == run_id]
    return rows.iloc[-1] if run_id and not rows.empty else None


def trained(trials: pd.DataFrame) -> pd.DataFrame:
    """The networks that finished at least one epoch (a budget can stop a trial before)."""
    return trials[trials["epoch"].notna()].reset_index(drop=True)


def uniform_networks(config: SearchConfig, data: DataSplits, bests: dict[str, str]) -> dict[str, str]:
    """depths text -> why it is trained: the references, and the uniform networks whose MACs
    bracket each method's best network (``bests``: method -> depths text)."""
    why: dict[str, list[str]] = {}
    for depths in config.reference_depths:
        why.setdefault(format_depths(depths), []).append("--references")
    for method, depths in bests.items():
        spec = config.network_spec(parse_depths(depths), data)
        for uniform in bracketing_uniform_depths(spec):
            why.setdefault(format_depths(uniform), []).append(f"MACs of {method}'s best {depths}")
    return {depths: "; ".join(reasons) for depths, reasons in why.items()}


def reference_macs(config: SearchConfig, data: DataSplits) -> float:
    """The hypervolume's reference MACs: the deepest network of the searched space."""
    space = DepthSpace.reachable_by_stagewise(config.start_depths, config.delta, config.iterations)
    spec = config.network_spec((space.m_max,) * space.num_stages, data)
    return float(count_macs(build_model(spec), spec.in_channels, spec.image_size))


def cheapest_accuracy(stagewise: pd.DataFrame) -> float:
    """The validation accuracy of the cheapest network of the space, the m0 network: stage-wise
    always trains it first (its iteration 1 A, from the seed's init seed)."""
    first = stagewise[(stagewise["role"] == "A") & (stagewise["iteration"] == 1)]
    return float(first["val_accuracy"].iloc[0]) if not first.empty else 0.0


def method_summary(
    method: str,
    seed: int,
    trials: pd.DataFrame,
    budget_images: float,
    uniform: pd.DataFrame,
    ref_macs: float,
    ref_accuracy: float,
) -> dict:
    """One row of the comparison: the best network by validation accuracy and what was spent.

    The hypervolume's reference accuracy is the cheapest network's (``cheapest_accuracy``), and
    every method is credited with that network: with accuracy 0 as the reference, the cheapest
    network alone covered most of the area (on CIFAR-10 at 16x16, 97% of stage-wise's in one
    seed), and stage-wise, which always trains it, led every seed by construction."""
    if trials.empty:  # a budget smaller than one epoch of one network
        return {
            "method": method,
            "seed": seed,
            "networks trained": 0,
            "budget used (images)": 0,
            "budget used (%)": 0.0,
        }
    used = trials["images_seen"].sum()
    return {
        "method": method,
        "seed": seed,
        "networks trained": len(trials),
        "budget used (images)": int(used),
        "budget used (%)": round(100 * used / budget_images, 1),
        **best_network_columns(best_by_validation(trials), uniform),
        "hypervolume": round(hypervolume(trials["macs"], trials["val_accuracy"], ref_macs, ref_accuracy), 4),
        "total kgCO2eq": float(f"{trials['emissions_kg'].sum():.3g}"),
    }


def found_summary(seed: int, found: pd.Series, uniform: pd.DataFrame) -> dict:
    """The row of the network stage-wise returned: its measures and uniform gap; what the search
    spent and its front are stage-wise's row."""
    return {"method": FOUND, "seed": seed, **best_network_columns(found, uniform)}


def best_network_columns(network: Mapping, uniform: pd.DataFrame) -> dict:
    """The ``best ...`` columns of one trained network, with its uniform gap when it was tested."""
    tested = pd.notna(network.get("test_accuracy"))
    gap = uniform_gap(network["macs"], network["test_accuracy"], uniform) if tested else None
    return {
        "best depths": network["depths"],
        "best epochs": int(network["epoch"]),
        "best val acc (%)": round(100 * network["val_accuracy"], 2),
        "best test acc (%)": round(100 * network["test_accuracy"], 2) if tested else None,
        "best params (M)": round(network["params"] / 1e6, 4),
        "best MACs (M)": round(network["macs"] / 1e6, 3),
        "uniform gap (points)": round(100 * gap.gap, 2) if gap else None,
        "uniform at equal MACs": f"{' / '.join(gap.between)} ({gap.note})" if gap else "no test accuracy",
    }


def uniform_rows(seed: int, uniform: pd.DataFrame) -> list[dict]:
    return [
        {
            "seed": seed,
            "depths": row["depths"],
            "params (M)": round(row["params"] / 1e6, 4),
            "MACs (M)": round(row["macs"] / 1e6, 3),
            "val acc (%)": round(100 * row["val_accuracy"], 2),
            "test acc (%)": round(100 * row["test_accuracy"], 2),
        }
        for _, row in uniform.iterrows()
    ]


def log_comparison_run(
    client: MlflowClient,
    config: SearchConfig,
    method: str,
    parent_ids: list[str],
    folder: Path,
    files: Sequence[str],
    metrics: dict[str, float],
) -> None:
    """A finished MLflow run (tag ``nas.method``) holding the comparison's ``files`` from
    ``folder``, the ids of the searches it compares and each method's figures as ``metrics``."""
    run = client.create_run(
        experiment_id(client, config.experiment),
        run_name=config.name,
        tags={METHOD_TAG: method, "nas.compared_runs": ",".join(parent_ids)},
    )
    log_numbers(client, run.info.run_id, metrics)
    for name in files:
        client.log_artifact(run.info.run_id, str(folder / name))
    client.set_terminated(run.info.run_id, "FINISHED")


def run_seed(
    client: MlflowClient, config: SearchConfig, seed: int, data: DataSplits
) -> tuple[dict[str, str], dict[str, pd.DataFrame], pd.Series | None, pd.DataFrame]:
    """Every method, then the uniform networks, with one seed: (method -> parent run, method ->
    its trained networks, the network stage-wise returned, the uniform networks)."""
    parents = run_methods(config, seed, data)
    trials = {
        method: trained(candidates_frame(client, client.get_run(run_id)))
        for method, run_id in parents.items()
    }
    bests = {m: best_by_validation(t)["depths"] for m, t in trials.items() if not t.empty}
    found = found_network(client, parents["stagewise"], trials["stagewise"])
    if found is not None:
        bests[FOUND] = found["depths"]
    why = uniform_networks(config, data, bests)
    outcome = train_uniform(
        replace(config, seed=seed, name=f"{config.name}-s{seed}-uniform"),
        [parse_depths(d) for d in why],
        data,
        why,
    )
    parents["uniform"] = outcome["parent_run_id"]
    return (parents, trials, found, candidates_frame(client, client.get_run(outcome["parent_run_id"])))


def compare(
    config: SearchConfig, seeds: Sequence[int], data: DataSplits | None = None, at_most: int | None = None
) -> pd.DataFrame:
    """Every method and the uniform networks per seed; ``data`` are the splits of
    ``config.seed`` (other seeds split the data differently and load their own).  The files are
    rewritten after every seed, so a long study shows (and a crash keeps) the seeds done.

    Seeds run at once when the cluster has room for more than one search's two trials
    (``at_once_for``; never more than ``at_most``); each seed's results are those it gets
    alone, except ASHA's, whose early stops follow the order its concurrent trials report in,
    alone or not."""
    client = MlflowClient(config.tracking_uri)
    folder = Path(config.storage_path) / config.name
    done: dict[int, SeedOutcome] = {}
    lock = threading.Lock()

    def run_one(seed: int) -> None:
        seed_data = (
            data if data is not None and seed == config.seed else replace(config, seed=seed).load_data()
        )
        try:
            outcome = SeedOutcome(
                *run_seed(client, config, seed, seed_data), reference_macs(config, seed_data)
            )
        except SearchInterrupted:
            raise SearchInterrupted(
                f"comparison interrupted in seed {seed}; MLflow keeps every network that "
                f"finished{' and ' + str(folder / 'study.md') + ' the seeds done' if done else ''}"
                ". A comparison cannot be resumed yet: run it again under a new --name"
            ) from None
        with lock:
            done[seed] = outcome
            summary, trials, uniform, parents_by_seed = study_tables(done)
            write_study(
                folder,
                study_record(
                    config,
                    list(parents_by_seed),
                    summary,
                    uniform,
                    outcome.ref_macs,
                    {k: cheapest_accuracy(done[k].trials["stagewise"]) for k in sorted(done)},
                    parents_by_seed,
                ),
                trials,
            )
            logger.info(
                f"compare: seed {seed} done; {folder / 'study.md'} holds seeds "
                f"{', '.join(map(str, parents_by_seed))}"
            )

    run_at_once(
        [(f"seed {seed}", partial(run_one, seed)) for seed in seeds],
        at_once_for(config, len(seeds), "seeds", at_most),
    )
    summary, _, uniform_table, parents_by_seed = study_tables(done)
    parent_ids = [run_id for parents in parents_by_seed.values() for run_id in parents.values()]
    log_comparison_run(
        client,
        config,
        "comparison",
        parent_ids,
        folder,
        STUDY_FILES,
        study_metrics(mean_and_spread(summary, STUDY_COLUMNS)),
    )
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        logger.info(
            "\n" + summary.drop(columns=["uniform at equal MACs"], errors="ignore").to_string(index=False)
        )
        logger.info("\nUniform networks:\n" + uniform_table.to_string(index=False))
    logger.info(f"comparison: {folder / 'comparison.md'}; over seeds: {folder / 'study.md'}")
    return summary


class SeedOutcome(NamedTuple):
    """What one seed of a comparison produced (``run_seed``) and its hypervolume reference."""

    parents: dict[str, str]
    trials: dict[str, pd.DataFrame]
    found: pd.Series | None
    uniform: pd.DataFrame
    ref_macs: float


def study_tables(
    done: Mapping[int, SeedOutcome],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[int, dict[str, str]]]:
    """(per-method rows, every network trained, the uniform networks' rows, parents by seed) of
    the seeds done, in seed order whatever order they finished in."""
    rows, all_trials, uniform_all, parents_by_seed = [], [], [], {}
    for seed in sorted(done):
        outcome = done[seed]
        budget_images = outcome.trials["stagewise"]["images_seen"].sum()
        for method, frame in outcome.trials.items():
            rows.append(
                method_summary(
                    method,
                    seed,
                    frame,
                    budget_images,
                    outcome.uniform,
                    outcome.ref_macs,
                    cheapest_accuracy(outcome.trials["stagewise"]),
                )
            )
            all_trials.append(frame.assign(method=method, seed=seed))
            if method == "stagewise" and outcome.found is not None:
                rows.append(found_summary(seed, outcome.found, outcome.uniform))
        all_trials.append(outcome.uniform.assign(method="uniform", seed=seed))
        uniform_all += uniform_rows(seed, outcome.uniform)
        parents_by_seed[seed] = outcome.parents
    return (
        pd.DataFrame(rows),
        pd.concat(all_trials, ignore_index=True),
        pd.DataFrame(uniform_all),
        parents_by_seed,
    )


def at_once_for(config: SearchConfig, searches: int, what: str, at_most: int | None) -> int:
    """How many of ``searches`` run at once on the cluster (joined here if not yet), at most
    ``at_most`` (``--searches-at-once``) when given, said in the log when more than one.  Then
    the MLflow store and experiment are created here first: searches started side by side would
    race to create them."""
    hint = dashboard_hint(connect(config.starts_dashboard))
    if hint:
        logger.info(hint)
    workers = config.workers_per_trial
    resources = trial_resources(config.cpus_per_trial, config.gpus_per_trial, workers)
    at_once = min(searches, at_most or searches, searches_that_fit(resources, MAX_CONCURRENT_TRIALS, workers))
    if at_once > 1:
        experiment_id(MlflowClient(config.tracking_uri), config.experiment)
        gpus = f" and {resources['gpu']:g} GPU" if resources["gpu"] else ""
        each = f"{workers} workers of " if workers > 1 else ""
        logger.info(
            f"compare: {at_once} {what} at once (the cluster has room for "
            f"{at_once * MAX_CONCURRENT_TRIALS} trials of {each}{resources['cpu']:g} "
            f"CPU{gpus})"
        )
    return at_once
