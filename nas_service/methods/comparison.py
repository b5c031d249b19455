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

``--criteria plsvip,inffs,ilfs`` compares importance criteria instead (the paper's Table II): one
stage-wise search per criterion with the same settings, tabulated per iteration (architecture,
accuracy, params, MACs) in ``criteria.md``; ``--m0s 1,2,3`` likewise one search per first depth
(the paper's Table I) in ``m0.md``.

Seeds, criteria and m0s run side by side when the cluster has room for more than one search's
two trials (``nas_service.tune.at_once``).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import asdict, replace
from functools import partial
from pathlib import Path
from typing import NamedTuple

import pandas as pd
from matplotlib.figure import Figure
from mlflow.tracking import MlflowClient

from nas_service.config import SearchConfig
from nas_service.core.candidates import best_by_validation
from nas_service.core.errors import SearchInterrupted
from nas_service.core.pareto import pareto_front
from nas_service.core.search_quality import hypervolume, mean_and_spread, uniform_gap
from nas_service.core.space import DepthSpace
from nas_service.methods.baselines import baseline
from nas_service.methods.stagewise import search
from nas_service.methods.uniform import train_uniform
from nas_service.reporting.report import candidates_frame, markdown_table
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
# the network stage-wise returns (the grown A after its last iteration), which need not be the
# best it trained by validation accuracy (often the last T): a row of its own
FOUND = "stagewise (found)"
METHOD_STYLES = {"stagewise": ("tab:green", "o", "-"), "random": ("tab:blue", "s", "--"),
                 "asha": ("tab:orange", "^", ":"), "tpe": ("tab:purple", "v", "-."),
                 FOUND: ("darkgreen", "*", "-"),
                 "uniform": ("tab:gray", "D", "-")}
# what the study averages over seeds, per method
STUDY_COLUMNS = ["best test acc (%)", "best MACs (M)", "best params (M)", "hypervolume",
                 "uniform gap (points)", "networks trained", "budget used (images)",
                 "total kgCO2eq"]


def method_config(config: SearchConfig, seed: int, method: str,
                  budget_images: float | None = None) -> SearchConfig:
    """The settings ``method`` runs with in the comparison: every flag given, with this seed, its
    own name and, for the baselines, stage-wise's spending as budget.  References are trained
    once per seed beside the methods (``train_uniform``), not inside stage-wise."""
    settings = replace(config, seed=seed, references=None, name=f"{config.name}-s{seed}-{method}")
    return settings if method == "stagewise" else replace(settings, budget_images=budget_images)


def run_methods(config: SearchConfig, seed: int, data: DataSplits | None = None
                ) -> dict[str, str]:
    """Stage-wise, then the baselines with the images stage-wise spent; method -> parent run.
    ``data``: the splits of ``seed``, when already loaded."""
    record = search(method_config(config, seed, "stagewise"), data)
    budget_images = record["spent"]["images"]
    logger.info(f"compare: stage-wise spent {budget_images:.0f} training images; "
                f"{', '.join(BASELINES)} get the same")
    parents = {"stagewise": record["parent_run_id"]}
    for method in BASELINES:
        outcome = baseline(method_config(config, seed, method, budget_images), method, data=data)
        parents[method] = outcome["parent_run_id"]
    return parents


def found_network(client: MlflowClient, parent_run_id: str, trials: pd.DataFrame
                  ) -> pd.Series | None:
    """The row of the network a stage-wise search returned (its parent's ``nas.final_run_id``);
    ``None`` when it was never trained (a budget ended the search first)."""
    run_id = client.get_run(parent_run_id).data.tags.get(FINAL_RUN_ID_TAG)
    rows = trials[trials["run_id"] == run_id]
    return rows.iloc[-1] if run_id and not rows.empty else None


def trained(trials: pd.DataFrame) -> pd.DataFrame:
    """The networks that finished at least one epoch (a budget can stop a trial before)."""
    return trials[trials["epoch"].notna()].reset_index(drop=True)


def uniform_networks(config: SearchConfig, data: DataSplits, bests: dict[str, str]
                     ) -> dict[str, str]:
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


def method_summary(method: str, seed: int, trials: pd.DataFrame, budget_images: float,
                   uniform: pd.DataFrame, ref_macs: float, ref_accuracy: float) -> dict:
    """One row of the comparison: the best network by validation accuracy and what was spent.

    The hypervolume's reference accuracy is the cheapest network's (``cheapest_accuracy``), and
    every method is credited with that network: with accuracy 0 as the reference, the cheapest
    network alone covered most of the area (on CIFAR-10 at 16x16, 97% of stage-wise's in one
    seed), and stage-wise, which always trains it, led every seed by construction."""
    if trials.empty:  # a budget smaller than one epoch of one network
        return {"method": method, "seed": seed, "networks trained": 0, "budget used (images)": 0,
                "budget used (%)": 0.0}
    used = trials["images_seen"].sum()
    return {"method": method, "seed": seed, "networks trained": len(trials),
            "budget used (images)": int(used),
            "budget used (%)": round(100 * used / budget_images, 1),
            **best_network_columns(best_by_validation(trials), uniform),
            "hypervolume": round(hypervolume(trials["macs"], trials["val_accuracy"], ref_macs,
                                             ref_accuracy), 4),
            "total kgCO2eq": float(f"{trials['emissions_kg'].sum():.3g}")}


def found_summary(seed: int, found: pd.Series, uniform: pd.DataFrame) -> dict:
    """The row of the network stage-wise returned: its measures and uniform gap; what the search
    spent and its front are stage-wise's row."""
    return {"method": FOUND, "seed": seed, **best_network_columns(found, uniform)}


def best_network_columns(network: Mapping, uniform: pd.DataFrame) -> dict:
    """The ``best ...`` columns of one trained network, with its uniform gap when it was tested."""
    tested = pd.notna(network.get("test_accuracy"))
    gap = uniform_gap(network["macs"], network["test_accuracy"], uniform) if tested else None
    return {"best depths": network["depths"], "best epochs": int(network["epoch"]),
            "best val acc (%)": round(100 * network["val_accuracy"], 2),
            "best test acc (%)": round(100 * network["test_accuracy"], 2) if tested else None,
            "best params (M)": round(network["params"] / 1e6, 4),
            "best MACs (M)": round(network["macs"] / 1e6, 3),
            "uniform gap (points)": round(100 * gap.gap, 2) if gap else None,
            "uniform at equal MACs": f"{' / '.join(gap.between)} ({gap.note})" if gap else
            "no test accuracy"}


def uniform_rows(seed: int, uniform: pd.DataFrame) -> list[dict]:
    return [{"seed": seed, "depths": row["depths"], "params (M)": round(row["params"] / 1e6, 4),
             "MACs (M)": round(row["macs"] / 1e6, 3),
             "val acc (%)": round(100 * row["val_accuracy"], 2),
             "test acc (%)": round(100 * row["test_accuracy"], 2)}
            for _, row in uniform.iterrows()]


def plot_pareto(trials: pd.DataFrame, path: Path) -> None:
    figure = Figure(figsize=(7, 4.6))
    axis = figure.subplots()
    for method, (color, marker, line) in METHOD_STYLES.items():
        subset = trials[(trials["method"] == method) & trials["macs"].notna()]
        if subset.empty:
            continue
        macs, accuracy = subset["macs"].to_numpy() / 1e6, subset["val_accuracy"].to_numpy() * 100
        axis.scatter(macs, accuracy, color=color, marker=marker, alpha=0.5, s=30,
                     label=f"{method} networks")
        front = pareto_front(list(macs), list(accuracy))
        axis.step(macs[front], accuracy[front], where="post", color=color, linestyle=line,
                  linewidth=2, label=f"{method} Pareto front")
    axis.set_xlabel("MACs of one image (millions)")
    axis.set_ylabel("validation accuracy (%)")
    axis.set_title("Every network of every method and seed (uniform: not a search)\n"
                   "(networks stopped early by ASHA at their last validation accuracy)")
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def plot_study(summary: pd.DataFrame, uniform: pd.DataFrame, path: Path) -> None:
    """Each method's best network per seed (test accuracy vs MACs) over the uniform networks'
    test accuracy per seed, the line through their means."""
    figure = Figure(figsize=(7, 4.6))
    axis = figure.subplots()
    if not uniform.empty:
        means = uniform.groupby("MACs (M)", sort=True)["test acc (%)"].mean()
        axis.scatter(uniform["MACs (M)"], uniform["test acc (%)"], color="tab:gray", marker="D",
                     alpha=0.4, s=25, label="uniform networks (each seed)")
        axis.plot(means.index, means.to_numpy(), color="tab:gray", label="uniform, mean over seeds")
    for method, (color, marker, _) in METHOD_STYLES.items():
        rows = summary[(summary["method"] == method) & summary["best test acc (%)"].notna()]
        if not rows.empty:
            axis.scatter(rows["best MACs (M)"], rows["best test acc (%)"], color=color,
                         marker=marker, s=60,
                         label=f"{method}: {'returned' if method == FOUND else 'best'} network "
                               "(each seed)")
    axis.set_xlabel("MACs of one image (millions)")
    axis.set_ylabel("test accuracy (%)")
    axis.set_title("Each method's best network against uniform networks of equal cost")
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def log_comparison_run(client: MlflowClient, config: SearchConfig, method: str,
                       parent_ids: list[str], folder: Path, files: Sequence[str],
                       metrics: dict[str, float]) -> None:
    """A finished MLflow run (tag ``nas.method``) holding the comparison's ``files`` from
    ``folder``, the ids of the searches it compares and each method's figures as ``metrics``."""
    run = client.create_run(experiment_id(client, config.experiment), run_name=config.name,
                            tags={METHOD_TAG: method, "nas.compared_runs": ",".join(parent_ids)})
    log_numbers(client, run.info.run_id, metrics)
    for name in files:
        client.log_artifact(run.info.run_id, str(folder / name))
    client.set_terminated(run.info.run_id, "FINISHED")


def metric_name(*parts: str) -> str:
    """An MLflow metric name from table labels: ``stagewise (found)``, ``best test acc (%)`` ->
    ``stagewise_found/best_test_acc_pct``."""
    def slug(text: str) -> str:
        return re.sub(r"[^a-z0-9]+", "_", text.lower().replace("%", "pct")).strip("_")

    return "/".join(slug(part) for part in parts)


def study_metrics(aggregate: pd.DataFrame) -> dict[str, float]:
    """Per method, the mean over seeds of every study column and its spread (``..._std``)."""
    metrics = {}
    for _, row in aggregate.iterrows():
        for column in STUDY_COLUMNS:
            metrics[metric_name(row["method"], column)] = row[f"{column} mean"]
            metrics[metric_name(row["method"], column) + "_std"] = row[f"{column} std"]
        metrics[metric_name(row["method"], "seeds")] = row["seeds"]
    return metrics


def study_record(config: SearchConfig, seeds: Sequence[int], summary: pd.DataFrame,
                 uniform: pd.DataFrame, ref_macs: float, ref_accuracy: Mapping[int, float],
                 parents: dict) -> dict:
    """What ``study.json`` holds: the settings, the rules, every row and the mean and spread."""
    return {"settings": {key: value for key, value in asdict(config).items() if value is not None},
            "seeds": list(seeds),
            "best network": "the trial of highest validation accuracy, per method and seed; "
                            f"'{FOUND}': the network stage-wise returned",
            "budget": "training images (epochs x images) stage-wise spent, per seed; the "
                      "baselines get the same; uniform networks are charged to no method",
            "hypervolume reference point": {
                "macs": ref_macs, "val_accuracy": {str(k): v for k, v in ref_accuracy.items()},
                "units": "MACs / reference MACs x validation accuracy above the reference",
                "why": "the deepest network's MACs and, per seed, the validation accuracy of the "
                       "cheapest network of the space (the m0 network, credited to every method): "
                       "only what a method finds beyond the cheapest network counts"},
            "uniform gap": "best network's test accuracy minus the uniform networks' at equal "
                           "MACs, interpolated linearly in MACs between the two nearest, in points",
            "parent runs": parents,
            "per seed": summary.to_dict("records"),
            "uniform networks": uniform.to_dict("records"),
            "mean and spread": mean_and_spread(summary, STUDY_COLUMNS).to_dict("records")}


def spread_text(mean: float, spread: float, seeds: int) -> str:
    """``mean ± spread``; the mean alone for one seed (no spread to show), n/a without values."""
    if pd.isna(mean):
        return "n/a"
    number = f"{mean:.0f}" if abs(mean) >= 1e4 else f"{mean:.4g}"  # images: no 6e+04
    return number if seeds == 1 else f"{number} ± {spread:.2g}"


def study_markdown(record: dict) -> str:
    seeds = ", ".join(map(str, record["seeds"]))
    aggregate = pd.DataFrame(record["mean and spread"])
    shown = pd.DataFrame({"method": aggregate["method"], "seeds": aggregate["seeds"]})
    for column in STUDY_COLUMNS:
        shown[column] = [spread_text(m, s, n) for m, s, n in
                         zip(aggregate[f"{column} mean"], aggregate[f"{column} std"],
                             aggregate["seeds"], strict=True)]
    reference = record["hypervolume reference point"]
    return "\n".join([
        f"# Search quality over seeds {seeds}", "",
        f"Mean ± spread (standard deviation over the {len(record['seeds'])} seed(s), ddof 0) per "
        "method. Best network: " + record["best network"] + ". Budget: " + record["budget"] + ".",
        f"Hypervolume of each method's validation-accuracy-vs-MACs front above the cheapest "
        f"network of the space, credited to every method: reference point "
        f"({reference['macs'] / 1e6:.3f} M MACs, the deepest network of the space; the cheapest "
        "network's validation accuracy of the seed), MACs in units of the reference. Uniform "
        "gap: " + record["uniform gap"] + ".", "",
        markdown_table(shown), "",
        "## Per seed", "", markdown_table(pd.DataFrame(record["per seed"])), "",
        "## Uniform networks (same protocol, each seed)", "",
        markdown_table(pd.DataFrame(record["uniform networks"])), "",
        "![study.png](study.png)", "", "![pareto.png](pareto.png)", ""])


def run_seed(client: MlflowClient, config: SearchConfig, seed: int, data: DataSplits
             ) -> tuple[dict[str, str], dict[str, pd.DataFrame], pd.Series | None, pd.DataFrame]:
    """Every method, then the uniform networks, with one seed: (method -> parent run, method ->
    its trained networks, the network stage-wise returned, the uniform networks)."""
    parents = run_methods(config, seed, data)
    trials = {method: trained(candidates_frame(client, client.get_run(run_id)))
              for method, run_id in parents.items()}
    bests = {m: best_by_validation(t)["depths"] for m, t in trials.items() if not t.empty}
    found = found_network(client, parents["stagewise"], trials["stagewise"])
    if found is not None:
        bests[FOUND] = found["depths"]
    why = uniform_networks(config, data, bests)
    outcome = train_uniform(replace(config, seed=seed, name=f"{config.name}-s{seed}-uniform"),
                            [parse_depths(d) for d in why], data, why)
    parents["uniform"] = outcome["parent_run_id"]
    return (parents, trials, found,
            candidates_frame(client, client.get_run(outcome["parent_run_id"])))


STUDY_FILES = ("comparison.md", "comparison.csv", "comparison_trials.csv", "pareto.png",
               "study.json", "study.md", "study.png")


def compare(config: SearchConfig, seeds: Sequence[int], data: DataSplits | None = None,
            at_most: int | None = None) -> pd.DataFrame:
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
        seed_data = data if data is not None and seed == config.seed else \
            replace(config, seed=seed).load_data()
        try:
            outcome = SeedOutcome(*run_seed(client, config, seed, seed_data),
                                  reference_macs(config, seed_data))
        except SearchInterrupted:
            raise SearchInterrupted(
                f"comparison interrupted in seed {seed}; MLflow keeps every network that "
                f"finished{' and ' + str(folder / 'study.md') + ' the seeds done' if done else ''}"
                ". A comparison cannot be resumed yet: run it again under a new --name") from None
        with lock:
            done[seed] = outcome
            summary, trials, uniform, parents_by_seed = study_tables(done)
            write_study(folder, study_record(
                config, list(parents_by_seed), summary, uniform, outcome.ref_macs,
                {k: cheapest_accuracy(done[k].trials["stagewise"]) for k in sorted(done)},
                parents_by_seed), trials)
            logger.info(f"compare: seed {seed} done; {folder / 'study.md'} holds seeds "
                        f"{', '.join(map(str, parents_by_seed))}")

    run_at_once([(f"seed {seed}", partial(run_one, seed)) for seed in seeds],
                at_once_for(config, len(seeds), "seeds", at_most))
    summary, _, uniform_table, parents_by_seed = study_tables(done)
    parent_ids = [run_id for parents in parents_by_seed.values() for run_id in parents.values()]
    log_comparison_run(client, config, "comparison", parent_ids, folder, STUDY_FILES,
                       study_metrics(mean_and_spread(summary, STUDY_COLUMNS)))
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        logger.info("\n" + summary.drop(columns=["uniform at equal MACs"], errors="ignore")
                    .to_string(index=False))
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


def study_tables(done: Mapping[int, SeedOutcome]
                 ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[int, dict[str, str]]]:
    """(per-method rows, every network trained, the uniform networks' rows, parents by seed) of
    the seeds done, in seed order whatever order they finished in."""
    rows, all_trials, uniform_all, parents_by_seed = [], [], [], {}
    for seed in sorted(done):
        outcome = done[seed]
        budget_images = outcome.trials["stagewise"]["images_seen"].sum()
        for method, frame in outcome.trials.items():
            rows.append(method_summary(method, seed, frame, budget_images, outcome.uniform,
                                       outcome.ref_macs,
                                       cheapest_accuracy(outcome.trials["stagewise"])))
            all_trials.append(frame.assign(method=method, seed=seed))
            if method == "stagewise" and outcome.found is not None:
                rows.append(found_summary(seed, outcome.found, outcome.uniform))
        all_trials.append(outcome.uniform.assign(method="uniform", seed=seed))
        uniform_all += uniform_rows(seed, outcome.uniform)
        parents_by_seed[seed] = outcome.parents
    return (pd.DataFrame(rows), pd.concat(all_trials, ignore_index=True),
            pd.DataFrame(uniform_all), parents_by_seed)


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
    at_once = min(searches, at_most or searches,
                  searches_that_fit(resources, MAX_CONCURRENT_TRIALS, workers))
    if at_once > 1:
        experiment_id(MlflowClient(config.tracking_uri), config.experiment)
        gpus = f" and {resources['gpu']:g} GPU" if resources["gpu"] else ""
        each = f"{workers} workers of " if workers > 1 else ""
        logger.info(f"compare: {at_once} {what} at once (the cluster has room for "
                    f"{at_once * MAX_CONCURRENT_TRIALS} trials of {each}{resources['cpu']:g} "
                    f"CPU{gpus})")
    return at_once


def write_study(folder: Path, record: dict, trials: pd.DataFrame) -> None:
    """``STUDY_FILES`` into ``folder``, from the study record and every network trained."""
    folder.mkdir(parents=True, exist_ok=True)
    summary, uniform = pd.DataFrame(record["per seed"]), pd.DataFrame(record["uniform networks"])
    summary.to_csv(folder / "comparison.csv", index=False)
    trials.to_csv(folder / "comparison_trials.csv", index=False)
    plot_pareto(trials, folder / "pareto.png")
    plot_study(summary, uniform, folder / "study.png")
    (folder / "study.json").write_text(json.dumps(record, indent=2, default=str) + "\n")
    (folder / "study.md").write_text(study_markdown(record))
    (folder / "comparison.md").write_text("\n".join([
        "# Stage-wise vs random search vs ASHA vs TPE at an equal budget", "",
        markdown_table(summary), "", "## Uniform networks", "", markdown_table(uniform), "",
        "![pareto.png](pareto.png)", "", "Mean and spread over seeds: [study.md](study.md)", ""]))


def variant_rows(column: str, label: str, record: dict, trials: pd.DataFrame) -> list[dict]:
    """The architecture each iteration of one search trained as A, then the final one, read
    from the runs that trained them: an A has the depths of the previous T but its own seed,
    so looking a network up by its depths would show the T's accuracy."""
    steps = [(step["iteration"], step["runs_A"][0]) for step in record["iterations"]]
    steps.append((len(steps) + 1, record["run_name"] or steps[-1][1]))
    by_run = trials.drop_duplicates("run_name").set_index("run_name")
    return [{column: label, "iteration": iteration,
             **network_columns({**by_run.loc[name].to_dict(), "run_name": name})}
            for iteration, name in steps]


def network_columns(trial) -> dict:
    """The variants table's columns of one trained network."""
    return {"depths": trial["depths"], "depth": int(trial["depth"]),
            "params (M)": round(trial["params"] / 1e6, 3),
            "MACs (M)": round(trial["macs"] / 1e6, 2),
            "val acc (%)": round(100 * trial["val_accuracy"], 2),
            "test acc (%)": round(100 * trial["test_accuracy"], 2)}


def compare_criteria(config: SearchConfig, criteria: Sequence[str],
                     data: DataSplits | None = None, at_most: int | None = None) -> pd.DataFrame:
    """One stage-wise search per importance criterion, same settings and seed: the paper's Table
    II (``criteria.md``)."""
    return compare_variants(
        config, "criterion",
        {criterion: replace(config, criterion=criterion, name=f"{config.name}-{criterion}")
         for criterion in criteria}, data,
        VariantFiles("criteria", "Stage-wise search per importance criterion (cf. the paper's "
                     "Table II)", "criteria comparison"), at_most)


def compare_m0(config: SearchConfig, m0s: Sequence[int], data: DataSplits | None = None,
               at_most: int | None = None) -> pd.DataFrame:
    """One stage-wise search per first depth ``m0`` (modules in every stage of the first
    architecture), same settings and seed: the paper's Table I (``m0.md``)."""
    return compare_variants(
        config, "m0",
        {str(m0): replace(config, m0=m0, initial_depths=None, name=f"{config.name}-m0-{m0}")
         for m0 in m0s},
        data, VariantFiles("m0", "Stage-wise search per first depth m0 (cf. the paper's Table I)",
                           "m0 comparison"), at_most)


class VariantFiles(NamedTuple):
    """Where a variants comparison writes (``<stem>.md/.csv``), its title, its MLflow run's tag."""

    stem: str
    title: str
    method: str


def compare_variants(config: SearchConfig, column: str, variants: Mapping[str, SearchConfig],
                     data: DataSplits | None, files: VariantFiles,
                     at_most: int | None = None) -> pd.DataFrame:
    """One stage-wise search per variant (at once when the cluster has room, at most
    ``at_most``), tabulated per iteration under ``column`` (architecture, accuracy, params,
    MACs).  The ``--references`` are trained once, after the searches, and tabulated as
    ``uniform`` rows."""
    client = MlflowClient(config.tracking_uri)
    rows, parent_ids = [], []
    jobs = [(f"{column} {label}", partial(search, replace(variant, references=None), data))
            for label, variant in variants.items()]
    records = run_at_once(jobs, at_once_for(config, len(jobs), f"{files.stem} searches", at_most))
    for label, record in zip(variants, records, strict=True):
        trials = candidates_frame(client, client.get_run(record["parent_run_id"]))
        rows += variant_rows(column, label, record, trials)
        parent_ids.append(record["parent_run_id"])
    if config.reference_depths:
        outcome = train_uniform(replace(config, name=f"{config.name}-uniform"),
                                config.reference_depths, data,
                                {format_depths(d): "--references" for d in config.reference_depths})
        uniform = candidates_frame(client, client.get_run(outcome["parent_run_id"]))
        rows += [{column: "uniform", "iteration": None, **network_columns(trial)}
                 for _, trial in uniform.iterrows()]
        parent_ids.append(outcome["parent_run_id"])
    table = pd.DataFrame(rows)
    folder = Path(config.storage_path) / config.name
    folder.mkdir(parents=True, exist_ok=True)
    table.to_csv(folder / f"{files.stem}.csv", index=False)
    (folder / f"{files.stem}.md").write_text("\n".join([
        f"# {files.title}", "",
        f"Iteration k is the architecture A of iteration k; the last row of each {column} is the "
        "final architecture; uniform rows are the --references, trained with the same protocol.",
        "", markdown_table(table), ""]))
    finals = table[table[column] != "uniform"].groupby(column, sort=False).last()
    log_comparison_run(client, config, files.method, parent_ids, folder,
                       (f"{files.stem}.md", f"{files.stem}.csv"),
                       {metric_name(label, name): value for label, row in finals.iterrows()
                        for name, value in row.items() if name not in ("depths", "iteration")})
    with pd.option_context("display.width", 220, "display.max_columns", 20):
        logger.info("\n" + table.to_string(index=False))
    logger.info(f"{files.method}: {folder / f'{files.stem}.md'}")
    return table
