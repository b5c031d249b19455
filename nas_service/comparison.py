"""Stage-wise, random search and ASHA at an equal budget (``python -m nas_service.compare``).

Stage-wise runs first; the training images it processed become the budget of random search and
ASHA (``nas_service.budget``), which search the same depth space with the same trainable, data,
protocol and resources.  The result is a table (method, networks trained, budget used, the best
network by validation accuracy with its test accuracy, params and MACs, and the method's total
kgCO2eq) and a Pareto plot of all trials (validation accuracy vs MACs, each method's front drawn),
written to ``<storage>/<name>/`` and to an MLflow run tagged ``nas.method = comparison``.
``--seeds 0,1,2`` repeats everything per seed and reports mean and spread.

``--criteria plsvip,inffs,ilfs`` compares importance criteria instead (the paper's Table II): one
stage-wise search per criterion with the same settings, tabulated per iteration (architecture,
accuracy, params, MACs) in ``criteria.md``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402

from nas_service.baseline_search import baseline  # noqa: E402
from nas_service.config import SearchConfig  # noqa: E402
from nas_service.pareto import pareto_front  # noqa: E402
from nas_service.report import candidates_frame, markdown_table  # noqa: E402
from nas_service.stagewise import search  # noqa: E402
from nas_service.tracking import METHOD_TAG, experiment_id  # noqa: E402
from trainables.datasets.splits import DataSplits  # noqa: E402

METHOD_STYLES = {"stagewise": ("tab:green", "o", "-"), "random": ("tab:blue", "s", "--"),
                 "asha": ("tab:orange", "^", ":")}


def run_methods(config: SearchConfig, seed: int, data: DataSplits | None = None
                ) -> dict[str, str]:
    """Stage-wise, then random and ASHA with the images stage-wise spent; method -> parent run.
    ``data``: the splits of ``seed``, when already loaded."""
    base = replace(config, seed=seed, references=None)
    record = search(replace(base, name=f"{config.name}-s{seed}-stagewise"), data)
    budget_images = record["spent"]["images"]
    print(f"[nas] compare: stage-wise spent {budget_images:.0f} training images; random search "
          f"and ASHA get the same", flush=True)
    parents = {"stagewise": record["parent_run_id"]}
    for method in ("random", "asha"):
        outcome = baseline(replace(base, name=f"{config.name}-s{seed}-{method}",
                                   budget_images=budget_images), method, data=data)
        parents[method] = outcome["parent_run_id"]
    return parents


def method_summary(method: str, seed: int, trials: pd.DataFrame, budget_images: float) -> dict:
    """One row of the comparison: the best network by validation accuracy and what was spent."""
    best = trials.loc[trials["val_accuracy"].idxmax()]
    used = trials["images_seen"].sum()
    return {"method": method, "seed": seed, "networks trained": len(trials),
            "budget used (images)": int(used), "budget used (%)": round(100 * used / budget_images, 1),
            "best val acc (%)": round(100 * best["val_accuracy"], 2),
            "its test acc (%)": round(100 * best["test_accuracy"], 2)
            if pd.notna(best.get("test_accuracy")) else None,
            "its depths": best["depths"], "its params (M)": round(best["params"] / 1e6, 3)
            if pd.notna(best.get("params")) else None,
            "its MACs (M)": round(best["macs"] / 1e6, 2) if pd.notna(best.get("macs")) else None,
            "total kgCO2eq": float(f"{trials['emissions_kg'].sum():.3g}")}


def aggregate(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean and spread (standard deviation) over seeds, per method."""
    numeric = ["networks trained", "budget used (images)", "best val acc (%)", "its test acc (%)",
               "total kgCO2eq"]
    grouped = rows.groupby("method", sort=False)[numeric]
    mean, spread = grouped.mean(), grouped.std(ddof=0)
    table = pd.DataFrame(index=mean.index)
    for column in numeric:
        table[column] = [f"{m:.4g} ± {s:.2g}" for m, s in zip(mean[column], spread[column])]
    return table.reset_index()


def plot_pareto(trials: pd.DataFrame, path: Path) -> None:
    figure, axis = plt.subplots(figsize=(7, 4.6))
    for method, (color, marker, line) in METHOD_STYLES.items():
        subset = trials[(trials["method"] == method) & trials["macs"].notna()]
        if subset.empty:
            continue
        macs, accuracy = subset["macs"].to_numpy() / 1e6, subset["val_accuracy"].to_numpy() * 100
        axis.scatter(macs, accuracy, color=color, marker=marker, alpha=0.5, s=30,
                     label=f"{method} trials")
        front = pareto_front(list(macs), list(accuracy))
        axis.step(macs[front], accuracy[front], where="post", color=color, linestyle=line,
                  linewidth=2, label=f"{method} Pareto front")
    axis.set_xlabel("MACs of one image (millions)")
    axis.set_ylabel("validation accuracy (%)")
    axis.set_title("All trials of all methods at an equal budget\n"
                   "(networks stopped early by ASHA at their last validation accuracy)")
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def log_comparison_run(client: MlflowClient, config: SearchConfig, method: str,
                       parent_ids: list[str], folder: Path, files: Sequence[str]) -> None:
    """A finished MLflow run (tag ``nas.method``) holding the comparison's ``files`` from
    ``folder`` and the ids of the searches it compares."""
    run = client.create_run(experiment_id(client, config.experiment), run_name=config.name,
                            tags={METHOD_TAG: method, "nas.compared_runs": ",".join(parent_ids)})
    for name in files:
        client.log_artifact(run.info.run_id, str(folder / name))
    client.set_terminated(run.info.run_id, "FINISHED")


def compare(config: SearchConfig, seeds: Sequence[int], data: DataSplits | None = None
            ) -> pd.DataFrame:
    """Every method per seed; ``data`` are the splits of ``config.seed`` (other seeds split the
    data differently and load their own)."""
    client = MlflowClient(config.tracking_uri)
    rows, all_trials, parent_ids = [], [], []
    for seed in seeds:
        parents = run_methods(config, seed, data if seed == config.seed else None)
        budget_images = None
        for method, parent_run_id in parents.items():
            trials = candidates_frame(client, client.get_run(parent_run_id)).assign(method=method,
                                                                                     seed=seed)
            budget_images = budget_images or trials["images_seen"].sum()
            rows.append(method_summary(method, seed, trials, budget_images))
            all_trials.append(trials)
            parent_ids.append(parent_run_id)
    summary = pd.DataFrame(rows)
    folder = Path(config.storage_path) / config.name
    folder.mkdir(parents=True, exist_ok=True)
    summary.to_csv(folder / "comparison.csv", index=False)
    trials = pd.concat(all_trials, ignore_index=True)
    trials.to_csv(folder / "comparison_trials.csv", index=False)
    plot_pareto(trials, folder / "pareto.png")
    text = ["# Stage-wise vs random search vs ASHA at an equal budget", "",
            markdown_table(summary), ""]
    if len(seeds) > 1:
        text += ["## Mean ± spread over seeds " + ", ".join(map(str, seeds)), "",
                 markdown_table(aggregate(summary)), ""]
    text += ["![pareto.png](pareto.png)", ""]
    (folder / "comparison.md").write_text("\n".join(text))
    log_comparison_run(client, config, "comparison", parent_ids, folder,
                       ("comparison.md", "comparison.csv", "comparison_trials.csv", "pareto.png"))
    with pd.option_context("display.width", 220, "display.max_columns", 20):
        print("\n" + summary.to_string(index=False))
        if len(seeds) > 1:
            print("\n" + aggregate(summary).to_string(index=False))
    print(f"[nas] comparison: {folder / 'comparison.md'}", flush=True)
    return summary


def criterion_rows(criterion: str, record: dict, trials: pd.DataFrame) -> list[dict]:
    """The architecture each iteration of one search trained as A, then the final one."""
    steps = [(step["iteration"], step["A"]) for step in record["iterations"]]
    steps.append((len(steps) + 1, record["depths"]))
    by_depths = trials.drop_duplicates("depths").set_index("depths")
    rows = []
    for iteration, depths in steps:
        trial = by_depths.loc[depths]
        rows.append({"criterion": criterion, "iteration": iteration, "depths": depths,
                     "depth": int(trial["depth"]), "params (M)": round(trial["params"] / 1e6, 3),
                     "MACs (M)": round(trial["macs"] / 1e6, 2),
                     "val acc (%)": round(100 * trial["val_accuracy"], 2),
                     "test acc (%)": round(100 * trial["test_accuracy"], 2)})
    return rows


def compare_criteria(config: SearchConfig, criteria: Sequence[str],
                     data: DataSplits | None = None) -> pd.DataFrame:
    """One stage-wise search per criterion, same settings and seed; a Table II-like table."""
    client = MlflowClient(config.tracking_uri)
    rows, parent_ids = [], []
    for criterion in criteria:
        record = search(replace(config, criterion=criterion, references=None,
                                name=f"{config.name}-{criterion}"), data)
        trials = candidates_frame(client, client.get_run(record["parent_run_id"]))
        rows += criterion_rows(criterion, record, trials)
        parent_ids.append(record["parent_run_id"])
    table = pd.DataFrame(rows)
    folder = Path(config.storage_path) / config.name
    folder.mkdir(parents=True, exist_ok=True)
    table.to_csv(folder / "criteria.csv", index=False)
    (folder / "criteria.md").write_text("\n".join([
        "# Stage-wise search per importance criterion (cf. the paper's Table II)", "",
        "Iteration k is the architecture A of iteration k; the last row of each criterion is the "
        "final architecture.", "", markdown_table(table), ""]))
    log_comparison_run(client, config, "criteria comparison", parent_ids, folder,
                       ("criteria.md", "criteria.csv"))
    with pd.option_context("display.width", 220, "display.max_columns", 20):
        print("\n" + table.to_string(index=False))
    print(f"[nas] criteria comparison: {folder / 'criteria.md'}", flush=True)
    return table
