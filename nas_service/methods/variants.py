"""Stage-wise searches that differ in one setting, side by side (``stagewise-nas compare
--criteria plsvip,inffs,ilfs`` or ``--m0s 1,2,3``): one search per importance criterion (the
paper's Table II, ``criteria.md``) or per first depth (its Table I, ``m0.md``), with the same
settings and seed, tabulated per iteration (architecture, accuracy, params, MACs).  They run side
by side when the cluster has room for more than one search's two trials."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import NamedTuple

import pandas as pd
from mlflow.tracking import MlflowClient

from nas_service.config import SearchConfig
from nas_service.methods.comparison import at_once_for, log_comparison_run
from nas_service.methods.stagewise import search
from nas_service.methods.uniform import train_uniform
from nas_service.reporting.comparison_report import (
    metric_name,
)
from nas_service.reporting.report import candidates_frame, markdown_table
from nas_service.tune.at_once import run_at_once
from trainables.datasets.splits import DataSplits
from trainables.spec import format_depths

logger = logging.getLogger(__name__)


def variant_rows(column: str, label: str, record: dict, trials: pd.DataFrame) -> list[dict]:
    """The architecture each iteration of one search trained as A, then the final one, read
    from the runs that trained them: an A has the depths of the previous T but its own seed,
    so looking a network up by its depths would show the T's accuracy."""
    steps = [(step["iteration"], step["runs_A"][0]) for step in record["iterations"]]
    steps.append((len(steps) + 1, record["run_name"] or steps[-1][1]))
    by_run = trials.drop_duplicates("run_name").set_index("run_name")
    return [
        {
            column: label,
            "iteration": iteration,
            **network_columns({**by_run.loc[name].to_dict(), "run_name": name}),
        }
        for iteration, name in steps
    ]


def network_columns(trial) -> dict:
    """The variants table's columns of one trained network."""
    return {
        "depths": trial["depths"],
        "depth": int(trial["depth"]),
        "params (M)": round(trial["params"] / 1e6, 3),
        "MACs (M)": round(trial["macs"] / 1e6, 2),
        "val acc (%)": round(100 * trial["val_accuracy"], 2),
        "test acc (%)": round(100 * trial["test_accuracy"], 2),
    }


def compare_criteria(
    config: SearchConfig, criteria: Sequence[str], data: DataSplits | None = None, at_most: int | None = None
) -> pd.DataFrame:
    """One stage-wise search per importance criterion, same settings and seed: the paper's Table
    II (``criteria.md``)."""
    return compare_variants(
        config,
        "criterion",
        {
            criterion: replace(config, criterion=criterion, name=f"{config.name}-{criterion}")
            for criterion in criteria
        },
        data,
        VariantFiles(
            "criteria",
            "Stage-wise search per importance criterion (cf. the paper's Table II)",
            "criteria comparison",
        ),
        at_most,
    )


def compare_m0(
    config: SearchConfig, m0s: Sequence[int], data: DataSplits | None = None, at_most: int | None = None
) -> pd.DataFrame:
    """One stage-wise search per first depth ``m0`` (modules in every stage of the first
    architecture), same settings and seed: the paper's Table I (``m0.md``)."""
    return compare_variants(
        config,
        "m0",
        {str(m0): replace(config, m0=m0, initial_depths=None, name=f"{config.name}-m0-{m0}") for m0 in m0s},
        data,
        VariantFiles("m0", "Stage-wise search per first depth m0 (cf. the paper's Table I)", "m0 comparison"),
        at_most,
    )


class VariantFiles(NamedTuple):
    """Where a variants comparison writes (``<stem>.md/.csv``), its title, its MLflow run's tag."""

    stem: str
    title: str
    method: str


def compare_variants(
    config: SearchConfig,
    column: str,
    variants: Mapping[str, SearchConfig],
    data: DataSplits | None,
    files: VariantFiles,
    at_most: int | None = None,
) -> pd.DataFrame:
    """One stage-wise search per variant (at once when the cluster has room, at most
    ``at_most``), tabulated per iteration under ``column`` (architecture, accuracy, params,
    MACs).  The ``--references`` are trained once, after the searches, and tabulated as
    ``uniform`` rows."""
    client = MlflowClient(config.tracking_uri)
    rows, parent_ids = [], []
    jobs = [
        (f"{column} {label}", partial(search, replace(variant, references=None), data))
        for label, variant in variants.items()
    ]
    records = run_at_once(jobs, at_once_for(config, len(jobs), f"{files.stem} searches", at_most))
    for label, record in zip(variants, records, strict=True):
        trials = candidates_frame(client, client.get_run(record["parent_run_id"]))
        rows += variant_rows(column, label, record, trials)
        parent_ids.append(record["parent_run_id"])
    if config.reference_depths:
        outcome = train_uniform(
            replace(config, name=f"{config.name}-uniform"),
            config.reference_depths,
            data,
            {format_depths(d): "--references" for d in config.reference_depths},
        )
        uniform = candidates_frame(client, client.get_run(outcome["parent_run_id"]))
        rows += [
            {column: "uniform", "iteration": None, **network_columns(trial)}
            for _, trial in uniform.iterrows()
        ]
        parent_ids.append(outcome["parent_run_id"])
    table = pd.DataFrame(rows)
    folder = Path(config.storage_path) / config.name
    folder.mkdir(parents=True, exist_ok=True)
    table.to_csv(folder / f"{files.stem}.csv", index=False)
    (folder / f"{files.stem}.md").write_text(
        "\n".join(
            [
                f"# {files.title}",
                "",
                f"Iteration k is the architecture A of iteration k; the last row of each {column} is the "
                "final architecture; uniform rows are the --references, trained with the same protocol.",
                "",
                markdown_table(table),
                "",
            ]
        )
    )
    finals = table[table[column] != "uniform"].groupby(column, sort=False).last()
    log_comparison_run(
        client,
        config,
        files.method,
        parent_ids,
        folder,
        (f"{files.stem}.md", f"{files.stem}.csv"),
        {
            metric_name(label, name): value
            for label, row in finals.iterrows()
            for name, value in row.items()
            if name not in ("depths", "iteration")
        },
    )
    with pd.option_context("display.width", 220, "display.max_columns", 20):
        logger.info("\n" + table.to_string(index=False))
    logger.info(f"{files.method}: {folder / f'{files.stem}.md'}")
    return table
