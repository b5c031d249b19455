"""A search's report, built from MLflow alone (``stagewise-nas report`` rebuilds it).

Reads a stage-wise parent run and its children from the tracking store and writes ``report.md``
(a table like the paper's Table III, the decision of every iteration) and four PNG plots: stage
depths per iteration (like the paper's Fig. 4), importance of A vs T per stage, accuracy vs MACs
and accuracy vs kgCO2eq.  The files go to ``--output`` and to the parent run's artifacts.
The stage-wise search (``nas_service.methods.stagewise``) calls the same ``write_report`` at its
end.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure
from mlflow.tracking import MlflowClient

from nas_service.core.candidates import in_training_order
from nas_service.core.decisions import confidence_text, decision_lines, network_text
from nas_service.core.errors import ConfigError
from nas_service.tracking.queries import child_runs, find_parent_run, search_parent_run
from nas_service.tracking.records import log_plot_images, set_description
from nas_service.tracking.tags import METHOD_TAG

PLOTS = ("stage_depths.png", "importance.png", "accuracy_vs_macs.png", "accuracy_vs_emissions.png")
MEASURES = [
    "depth",
    "params",
    "macs",
    "memory_mb",
    "cpu_latency_ms",
    "train_seconds",
    "energy_kwh",
    "emissions_kg",
    "val_accuracy",
    "test_accuracy",
]
ROLE_STYLE = {
    "A": ("tab:blue", "o"),
    "T": ("tab:orange", "s"),
    "final": ("tab:green", "*"),
    "reference": ("tab:gray", "D"),
}


class ReportError(ValueError):
    """No such run or experiment; the message names it."""


def report_parent_run(client: MlflowClient, experiment: str, run_id: str | None):
    """The given parent run, or the newest stage-wise parent run of the experiment."""
    if run_id:
        try:
            run = search_parent_run(client, run_id)
        except ConfigError as error:
            raise ReportError(str(error)) from None
        if run.data.tags[METHOD_TAG] != "stagewise":
            raise ReportError(
                f"--run-id {run_id}: a {run.data.tags[METHOD_TAG]} search; reports "
                "are written for stage-wise searches (compare writes the others')"
            )
        return run
    found = client.get_experiment_by_name(experiment)
    if found is None:
        raise ReportError(f"--experiment {experiment!r}: no such MLflow experiment")
    parent = find_parent_run(client, experiment, "stagewise")
    if parent is None:
        raise ReportError(f"--experiment {experiment!r}: holds no stage-wise search")
    return parent


def candidates_frame(client: MlflowClient, parent) -> pd.DataFrame:
    """One row per child run: name, role, depths and its final measures."""
    children = child_runs(client, parent)
    rows = []
    for child in children:
        params, metrics = child.data.params, child.data.metrics
        row = {
            "run_name": child.info.run_name,
            "run_id": child.info.run_id,
            "role": params.get("role"),
            "iteration": int(params.get("iteration", 0)),
            "depths": params.get("depths"),
            "status": child.info.status,
        }
        # NaN, not None, for a measure not logged yet (a network still training)
        row.update({key: metrics.get(key, float("nan")) for key in [*MEASURES, "images_seen", "epoch"]})
        row.update({key: value for key, value in metrics.items() if key.startswith("importance/")})
        if "final_epochs" in params:  # continued: its test accuracy at the search's epochs too
            first, *_ = sorted(
                client.get_metric_history(child.info.run_id, "test_accuracy"), key=lambda metric: metric.step
            )
            row["search_test_accuracy"] = first.value
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    return in_training_order(frame).reset_index(drop=True)


def decisions(client: MlflowClient, parent) -> dict | None:
    """The parent's ``final_architecture.json`` (iteration decisions), if the search finished."""
    with tempfile.TemporaryDirectory() as folder:
        try:
            path = client.download_artifacts(parent.info.run_id, "final_architecture.json", folder)
        except Exception:
            return None
        return json.loads(Path(path).read_text())


def table_iii(frame: pd.DataFrame) -> pd.DataFrame:
    """The paper's Table III columns, in its units, one row per trained network."""

    def percent(column: str) -> pd.Series:
        return (frame[column] * 100).round(2) if column in frame else pd.Series(dtype=float)

    table = pd.DataFrame(
        {
            "run": frame["run_name"],
            "depths (m1-..-mS)": frame["depths"],
            "depth": frame["depth"].astype("Int64"),
            "params (M)": (frame["params"] / 1e6).round(3),
            "MACs (M)": (frame["macs"] / 1e6).round(1),
            "memory (MB)": frame["memory_mb"].round(2),
            "CPU latency (ms)": frame["cpu_latency_ms"].round(2),
            "train time (s)": frame["train_seconds"].round(1),
            "kgCO2eq": frame["emissions_kg"].map(lambda v: f"{v:.2e}" if pd.notna(v) else ""),
            "val acc (%)": percent("val_accuracy"),
            "test acc (%)": percent("test_accuracy"),
        }
    )
    if "search_test_accuracy" in frame:  # --final-epochs: both the paper's columns
        table.insert(1, "epochs", frame["epoch"].astype("Int64"))
        table["test acc at the search's epochs (%)"] = percent("search_test_accuracy")
    return table


def plot_stage_depths(record: dict, path: Path) -> None:
    """Grouped bars: modules of every stage in A at each iteration's start, then the final one."""
    steps = record["iterations"]
    depths = [[int(m) for m in step["A"].split("-")] for step in steps]
    depths.append([int(m) for m in record["depths"].split("-")])
    num_stages = len(depths[0])
    width = 0.8 / num_stages
    figure = Figure(figsize=(6.4, 4))
    axis = figure.subplots()
    for stage in range(num_stages):
        positions = [i + (stage - (num_stages - 1) / 2) * width for i in range(len(depths))]
        bars = axis.bar(positions, [d[stage] for d in depths], width, label=f"stage {stage + 1}")
        axis.bar_label(bars, fontsize=7)
    axis.set_xticks(range(len(depths)), [str(s["iteration"]) for s in steps] + ["final"])
    axis.set_xlabel("iteration (architecture A at its start)")
    axis.set_ylabel("modules in the stage (m_i)")
    axis.set_title("Depth of each stage per iteration")
    axis.legend()
    axis.grid(alpha=0.3, axis="y")
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def step_grew(step: dict, stage: int) -> bool:
    """Whether ``stage`` grew in ``step`` (records before confidences and limits: T scored higher)."""
    if "grows" in step:
        return step["grows"][stage] and stage + 1 not in step["held_back_by_limit"]
    return step["importance_T"][stage] > step["importance_A"][stage]


def plot_importance(record: dict, path: Path) -> None:
    steps = record["iterations"]
    num_stages = len(steps[0]["importance_A"])
    x = [step["iteration"] for step in steps]
    figure = Figure(figsize=(4 * num_stages, 3.6))
    axes = figure.subplots(1, num_stages, squeeze=False)
    for stage, axis in enumerate(axes[0]):
        a = [step["importance_A"][stage] for step in steps]
        t = [step["importance_T"][stage] for step in steps]
        axis.plot(x, a, marker="o", label="A (current)")
        axis.plot(x, t, marker="s", label="T (deepened by delta)")
        grew = [i for i, step in zip(x, steps, strict=True) if step_grew(step, stage)]
        axis.scatter(
            grew,
            [max(a[x.index(i)], t[x.index(i)]) for i in grew],
            marker="^",
            s=90,
            facecolors="none",
            edgecolors="tab:green",
            label="stage grew",
        )
        axis.set_title(f"stage {stage + 1}")
        axis.set_xlabel("iteration")
        axis.set_xticks(x)
        axis.grid(alpha=0.3)
    axes[0][0].set_ylabel("stage importance (mean VIP)")
    axes[0][0].legend(fontsize=8)
    figure.suptitle("Importance of A vs T per stage: a stage grows where T scores higher")
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def plot_accuracy_vs(
    frame: pd.DataFrame, column: str, scale: float, label: str, title: str, path: Path
) -> None:
    figure = Figure(figsize=(6.4, 4.4))
    axis = figure.subplots()
    accuracy = "test_accuracy" if frame["test_accuracy"].notna().any() else "val_accuracy"
    for role, (color, marker) in ROLE_STYLE.items():
        subset = frame[(frame["role"] == role) & frame[column].notna()]
        if subset.empty:
            continue
        axis.scatter(
            subset[column] * scale, subset[accuracy] * 100, color=color, marker=marker, s=70, label=role
        )
        for _, row in subset.iterrows():
            axis.annotate(
                row["depths"],
                (row[column] * scale, row[accuracy] * 100),
                fontsize=7,
                xytext=(4, 3),
                textcoords="offset points",
            )
    axis.set_xlabel(label)
    axis.set_ylabel(f"{accuracy.replace('_', ' ')} (%)")
    axis.set_title(title)
    axis.legend(title="role")
    axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def markdown_table(frame: pd.DataFrame) -> str:
    """A GitHub-style markdown table (pandas' ``to_markdown`` needs the extra ``tabulate``)."""

    def cell(value) -> str:
        return "" if pd.isna(value) else str(value)

    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


def decisions_table(record: dict) -> pd.DataFrame:
    """One row per iteration that ran: the networks compared (reused ones named), their stage
    scores, the confidence that T beats A, and what was decided."""
    return pd.DataFrame(
        [
            {
                "iteration": step["iteration"],
                "init seeds": ", ".join(map(str, step.get("init_seeds", [step.get("init_seed", "")]))),
                "A": network_text(step, "A") if {"runs_A", "run_A"} & step.keys() else step["A"],
                "T": network_text(step, "T") if {"runs_T", "run_T"} & step.keys() else step["T"],
                "importance A": ", ".join(f"{v:.4f}" for v in step["importance_A"]),
                "importance T": ", ".join(f"{v:.4f}" for v in step["importance_T"]),
                "P(T beats A)": confidence_text(step),
                "next A": step["next"],
                "decision": step.get("outcome", ""),
            }
            for step in record["iterations"]
        ]
    )


def render_markdown(
    parent,
    frame: pd.DataFrame,
    record: dict | None,
    plots: Sequence[str] | None = PLOTS,
    opening: Sequence[str] = (),
) -> str:
    """report.md of the candidates in ``frame``, after the ``opening`` lines (what a report of
    an unfinished search holds: ``unfinished_lines``); with ``plots=None`` (the run page's
    description, where images do not resolve) the plots are named as the run's artifacts."""
    params = parent.data.params
    lines = [
        f"# Stage-wise search `{parent.info.run_name}`",
        "",
        f"MLflow run `{parent.info.run_id}`. Data set "
        f"`{params.get('dataset')}`, start `{params.get('start_depths')}`, delta "
        f"{params.get('delta')}, at most {params.get('iterations')} iterations, "
        f"{params.get('train.epochs')} epochs per network, criterion "
        f"`{params.get('criterion')}`, seed {params.get('seed')}, when no stage grows: "
        f"{params.get('on_no_growth', 'stop (before retraining existed)')}.",
        "",
    ]
    if record:
        measures = record["measures"]
        accuracy = measures.get("test_accuracy") or measures.get("val_accuracy") or float("nan")
        trained_by = f"run `{record['run_name']}`, " if record.get("run_name") else ""
        lines += [
            f"**Found architecture: `{record['depths']}`** ({trained_by}depth {measures.get('depth')}, "
            f"{accuracy * 100:.2f}% test accuracy).",
            "",
        ]
    lines += opening
    lines += [
        "## Candidates (the paper's Table III columns)",
        "",
        markdown_table(table_iii(frame)) if not frame.empty else "(no runs)",
        "",
        "Units: params in millions; MACs of one image in millions; memory = float32 weights "
        "in MB; CPU latency = batch 1, 1 thread, median; train time = wall seconds of the "
        "training epochs; kgCO2eq of training (codecarbon, offline).",
        "",
    ]
    if record:
        lines += ["## Decisions", "", markdown_table(decisions_table(record)), ""]
        ending = decision_lines(record)[len(record["iterations"]) :]
        lines += [*ending, ""] if ending else []
    if plots is None:
        lines += ["Plots (" + ", ".join(PLOTS) + ") and report.md: this run's artifacts.", ""]
    elif plots:
        lines += ["## Plots", "", *(f"![{name}]({name})" for name in plots), ""]
    return "\n".join(lines)


def search_state(parent, holder: str = "this report holds") -> str | None:
    """``None`` for a finished search; else one line saying so and what ``holder`` (the report,
    an ensemble) takes of it."""
    status, name = parent.info.status, parent.info.run_name
    if status == "FINISHED":
        return None
    if status in ("RUNNING", "SCHEDULED"):
        return (
            f"search {name} is still running: {holder} the networks finished so far; the "
            "decisions and the found network come when the search ends"
        )
    return (
        f"search {name} did not finish (MLflow status {status}): {holder} the networks it "
        f"finished; stagewise-nas run --resume --name {name} continues it"
    )


def unfinished_lines(state: str, finished: int, started: int) -> list[str]:
    """The report's opening words on a search that has not finished (``search_state``): what it
    holds."""
    return [
        f"**Not a finished search.** {state[0].upper()}{state[1:]}. Networks finished: "
        f"{finished} of the {started} started.",
        "",
    ]


def write_report(
    client: MlflowClient, parent_run_id: str, output: Path, finishing: bool = False
) -> list[Path]:
    """Write report.md and the plots to ``output`` and, for a finished search, to the parent's
    artifacts; returns paths.  ``finishing``: the search itself writes its report as it ends
    (its run is still RUNNING); anyone else's report of a search not finished says so and
    leaves the run alone (the search writes its own at its end)."""
    parent = client.get_run(parent_run_id)
    state = None if finishing else search_state(parent)
    frame = candidates_frame(client, parent)
    finished = frame[frame["status"] == "FINISHED"] if state and not frame.empty else frame
    record = decisions(client, parent)
    output.mkdir(parents=True, exist_ok=True)
    written = []
    if record and record["iterations"]:
        plot_stage_depths(record, output / PLOTS[0])
        plot_importance(record, output / PLOTS[1])
        written += [output / PLOTS[0], output / PLOTS[1]]
    if not finished.empty:
        plot_accuracy_vs(
            finished,
            "macs",
            1e-6,
            "MACs of one image (millions)",
            "Accuracy vs computation",
            output / PLOTS[2],
        )
        plot_accuracy_vs(
            finished,
            "emissions_kg",
            1e3,
            "training emissions (gCO2eq)",
            "Accuracy vs training emissions",
            output / PLOTS[3],
        )
        written += [output / PLOTS[2], output / PLOTS[3]]
    report = output / "report.md"
    report.write_text(
        render_markdown(
            parent,
            finished,
            record,
            [path.name for path in written if path.suffix == ".png"],
            unfinished_lines(state, len(finished), len(frame)) if state else (),
        )
    )
    written.insert(0, report)
    if state:
        return written
    for path in written:
        client.log_artifact(parent_run_id, str(path))
    log_plot_images(client, parent_run_id, [path for path in written if path.suffix == ".png"])
    set_description(client, parent_run_id, render_markdown(parent, finished, record, plots=None))
    return written
