"""The table of trained candidates, one row per trial that finished an epoch, built from Tune's
results (and read back from MLflow by the report)."""

from __future__ import annotations

import pandas as pd

from nas_service.core.trials import run_name, stage_scores_from_result
from trainables.spec import format_depths
from trainables.trial_config import CONTINUES_KEY, trial_identity

COLUMNS = [
    "run_name",
    "iteration",
    "role",
    "depths",
    "epoch",
    "depth",
    "params",
    "macs",
    "memory_mb",
    "cpu_latency_ms",
    "train_seconds",
    "gpu_seconds",
    "energy_kwh",
    "emissions_kg",
    "images_seen",
    "val_accuracy",
    "test_accuracy",
]


def candidates_table(results, run_ids: dict[str, str]) -> pd.DataFrame:
    """One row per trial that finished an epoch, in training order, with its per-stage importance;
    a candidate continued by ``--final-epochs`` has a second row, with more epochs, after it."""
    rows = []
    for result in results:
        metrics = result.metrics or {}
        config = metrics.get("config") or {}
        if not config or "epoch" not in metrics:  # stopped before its first epoch ended
            continue
        depths, role, iteration = trial_identity(config)
        row = {
            "run_name": run_name(config),
            "iteration": iteration,
            "role": role,
            "depths": format_depths(depths),
        }
        row.update({key: metrics.get(key) for key in COLUMNS[4:]})
        scores = stage_scores_from_result(metrics, len(depths)) or []
        row.update({f"importance_s{i + 1}": score for i, score in enumerate(scores)})
        row["trial_id"] = metrics.get("trial_id")
        # a continuation (--final-epochs) logs into the run of the trial it continues
        row["mlflow_run_id"] = run_ids.get(row["trial_id"], run_ids.get(config.get(CONTINUES_KEY)))
        rows.append(row)
    table = pd.DataFrame(rows)
    if not table.empty:
        table = in_training_order(table)
    return table.reset_index(drop=True)


def best_by_validation(table: pd.DataFrame) -> dict | None:
    """The row of highest validation accuracy (first of ties, in training order): the network a
    baseline returns, the same rule for every method; ``None`` when none was validated."""
    if table.empty or "val_accuracy" not in table or table["val_accuracy"].isna().all():
        return None
    return table.loc[table["val_accuracy"].idxmax()].to_dict()


ROLE_ORDER = {"A": 0, "T": 1, "final": 2, "reference": 3}


def in_training_order(frame: pd.DataFrame) -> pd.DataFrame:
    """Candidates by iteration, A before T before final; references (then other roles) last,
    cheapest first."""
    keys = frame.assign(
        _reference=frame["role"] == "reference", _order=frame["role"].map(ROLE_ORDER).fillna(len(ROLE_ORDER))
    )
    order = [c for c in ("_reference", "iteration", "_order", "macs", "epoch") if c in keys]
    return keys.sort_values(order, kind="stable").drop(columns=["_reference", "_order"])
