"""What ``stagewise-nas compare`` writes: the study over seeds (``study.json``, ``study.md``,
``study.png``: mean and spread per method), the per-seed table (``comparison.md/.csv``), every
network trained (``comparison_trials.csv``) and the Pareto fronts (``pareto.png``)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from nas_service.config import SearchConfig
from nas_service.core.pareto import pareto_front
from nas_service.core.search_quality import mean_and_spread
from nas_service.reporting.report import markdown_table

# the network stage-wise returns (the grown A after its last iteration), which need not be the
# best it trained by validation accuracy (often the last T): a row of its own
FOUND = "stagewise (found)"


METHOD_STYLES = {
    "stagewise": ("tab:green", "o", "-"),
    "random": ("tab:blue", "s", "--"),
    "asha": ("tab:orange", "^", ":"),
    "tpe": ("tab:purple", "v", "-."),
    FOUND: ("darkgreen", "*", "-"),
    "uniform": ("tab:gray", "D", "-"),
}


# what the study averages over seeds, per method
STUDY_COLUMNS = [
    "best test acc (%)",
    "best MACs (M)",
    "best params (M)",
    "hypervolume",
    "uniform gap (points)",
    "networks trained",
    "budget used (images)",
    "total kgCO2eq",
]


def plot_pareto(trials: pd.DataFrame, path: Path) -> None:
    figure = Figure(figsize=(7, 4.6))
    axis = figure.subplots()
    for method, (color, marker, line) in METHOD_STYLES.items():
        subset = trials[(trials["method"] == method) & trials["macs"].notna()]
        if subset.empty:
            continue
        macs, accuracy = subset["macs"].to_numpy() / 1e6, subset["val_accuracy"].to_numpy() * 100
        axis.scatter(macs, accuracy, color=color, marker=marker, alpha=0.5, s=30, label=f"{method} networks")
        front = pareto_front(list(macs), list(accuracy))
        axis.step(
            macs[front],
            accuracy[front],
            where="post",
            color=color,
            linestyle=line,
            linewidth=2,
            label=f"{method} Pareto front",
        )
    axis.set_xlabel("MACs of one image (millions)")
    axis.set_ylabel("validation accuracy (%)")
    axis.set_title(
        "Every network of every method and seed (uniform: not a search)\n"
        "(networks stopped early by ASHA at their last validation accuracy)"
    )
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
        axis.scatter(
            uniform["MACs (M)"],
            uniform["test acc (%)"],
            color="tab:gray",
            marker="D",
            alpha=0.4,
            s=25,
            label="uniform networks (each seed)",
        )
        axis.plot(means.index, means.to_numpy(), color="tab:gray", label="uniform, mean over seeds")
    for method, (color, marker, _) in METHOD_STYLES.items():
        rows = summary[(summary["method"] == method) & summary["best test acc (%)"].notna()]
        if not rows.empty:
            axis.scatter(
                rows["best MACs (M)"],
                rows["best test acc (%)"],
                color=color,
                marker=marker,
                s=60,
                label=f"{method}: {'returned' if method == FOUND else 'best'} network (each seed)",
            )
    axis.set_xlabel("MACs of one image (millions)")
    axis.set_ylabel("test accuracy (%)")
    axis.set_title("Each method's best network against uniform networks of equal cost")
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


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


def study_record(
    config: SearchConfig,
    seeds: Sequence[int],
    summary: pd.DataFrame,
    uniform: pd.DataFrame,
    ref_macs: float,
    ref_accuracy: Mapping[int, float],
    parents: dict,
) -> dict:
    """What ``study.json`` holds: the settings, the rules, every row and the mean and spread."""
    return {
        "settings": {key: value for key, value in asdict(config).items() if value is not None},
        "seeds": list(seeds),
        "best network": "the trial of highest validation accuracy, per method and seed; "
        f"'{FOUND}': the network stage-wise returned",
        "budget": "training images (epochs x images) stage-wise spent, per seed; the "
        "baselines get the same; uniform networks are charged to no method",
        "hypervolume reference point": {
            "macs": ref_macs,
            "val_accuracy": {str(k): v for k, v in ref_accuracy.items()},
            "units": "MACs / reference MACs x validation accuracy above the reference",
            "why": "the deepest network's MACs and, per seed, the validation accuracy of the "
            "cheapest network of the space (the m0 network, credited to every method): "
            "only what a method finds beyond the cheapest network counts",
        },
        "uniform gap": "best network's test accuracy minus the uniform networks' at equal "
        "MACs, interpolated linearly in MACs between the two nearest, in points",
        "parent runs": parents,
        "per seed": summary.to_dict("records"),
        "uniform networks": uniform.to_dict("records"),
        "mean and spread": mean_and_spread(summary, STUDY_COLUMNS).to_dict("records"),
    }


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
        shown[column] = [
            spread_text(m, s, n)
            for m, s, n in zip(
                aggregate[f"{column} mean"], aggregate[f"{column} std"], aggregate["seeds"], strict=True
            )
        ]
    reference = record["hypervolume reference point"]
    return "\n".join(
        [
            f"# Search quality over seeds {seeds}",
            "",
            f"Mean ± spread (standard deviation over the {len(record['seeds'])} seed(s), ddof 0) per "
            "method. Best network: " + record["best network"] + ". Budget: " + record["budget"] + ".",
            f"Hypervolume of each method's validation-accuracy-vs-MACs front above the cheapest "
            f"network of the space, credited to every method: reference point "
            f"({reference['macs'] / 1e6:.3f} M MACs, the deepest network of the space; the cheapest "
            "network's validation accuracy of the seed), MACs in units of the reference. Uniform "
            "gap: " + record["uniform gap"] + ".",
            "",
            markdown_table(shown),
            "",
            "## Per seed",
            "",
            markdown_table(pd.DataFrame(record["per seed"])),
            "",
            "## Uniform networks (same protocol, each seed)",
            "",
            markdown_table(pd.DataFrame(record["uniform networks"])),
            "",
            "![study.png](study.png)",
            "",
            "![pareto.png](pareto.png)",
            "",
        ]
    )


STUDY_FILES = (
    "comparison.md",
    "comparison.csv",
    "comparison_trials.csv",
    "pareto.png",
    "study.json",
    "study.md",
    "study.png",
)


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
    (folder / "comparison.md").write_text(
        "\n".join(
            [
                "# Stage-wise vs random search vs ASHA vs TPE at an equal budget",
                "",
                markdown_table(summary),
                "",
                "## Uniform networks",
                "",
                markdown_table(uniform),
                "",
                "![pareto.png](pareto.png)",
                "",
                "Mean and spread over seeds: [study.md](study.md)",
                "",
            ]
        )
    )
