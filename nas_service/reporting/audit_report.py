"""The audit's files: ``audit.json`` (every number), ``audit.md`` (the tables a reader needs to
judge the criteria) and ``audit.png`` (agreement per criterion beside the constant rules), in the
report folder and among the parent run's artifacts."""

from __future__ import annotations

import json
from pathlib import Path

from matplotlib.figure import Figure
from mlflow.tracking import MlflowClient

from nas_service.tracking.records import log_plot_images, set_description

METRIC_NAMES = {"val_accuracy": "validation", "test_accuracy": "test"}


def _number(value: float | None, digits: int = 4) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _interval(entry: dict, scale: float = 1.0, digits: int = 4) -> str:
    mean = f"{entry['mean'] * scale:+.{digits}f}"
    if entry["low"] is None:
        return mean
    return f"{mean} [{entry['low'] * scale:+.{digits}f}, {entry['high'] * scale:+.{digits}f}]"


def _rate(agreement: dict, key: str) -> str:
    value = agreement[key]
    if value is None:
        return "n/a"
    if key == "rate":
        return f"{value:.2f} ({agreement['agreeing']}/{agreement['cells']})"
    return f"{value:.2f}"


PROTOCOL = (
    "Intervals are {level:.0%} t-intervals over the seeds. A stage is *decided* when "
    "its gain interval excludes 0; agreement counts the seeds x decided stages whose "
    "decision (grow when T's score beats A's) matches the effect of growing that stage, "
    "beside the two constant rules on the same cells. Balanced agreement is the mean of "
    "the rates on cells where growing helped and where it hurt: 0.5 for a constant rule "
    "or a coin."
)


def audit_markdown(record: dict) -> str:
    """audit.md: the protocol, the accuracy gain of growing each stage, then per criterion and
    scoring epoch its agreement beside the constant rules, and its score differences; for a
    search's audit, the agreement over every iteration first, then each iteration's tables."""
    if "iterations" not in record:
        seeds = ", ".join(map(str, record["seeds"]))
        lines = [
            f"# Growth decisions audited: A `{record['depths']}`, delta {record['delta']}",
            "",
            f"Seeds {seeds} (A, T and every single-stage child trained from each, "
            f"paired), {record['epochs']} epochs per network. "
            + PROTOCOL.format(level=record["interval_level"]),
            "",
        ]
        return "\n".join(lines + _audited_a_lines(record, "##")) + "\n"
    search = record["search"]
    lines = [
        f"# Growth decisions of search `{search['name']}` audited",
        "",
        f"Every iteration's A of stage-wise search {search['name']} (MLflow run "
        f"{search['run_id']}, criterion {search['criterion']}), delta {record['delta']}, "
        f"{record['epochs']} epochs per network, with its saved settings. Per iteration, "
        "the A and T the search trained are reused (scored from their checkpoints by every "
        "criterion); the single-stage children train from the same init seeds, and A, T "
        "and the children from the extra seeds. " + PROTOCOL.format(level=record["interval_level"]),
        "",
        "| iteration | A | T | seeds (search's, then extra) | the search grew stages |",
        "|---|---|---|---|---|",
    ]
    for step, audited in zip(search["iterations"], record["iterations"], strict=True):
        grows = ", ".join(str(stage) for stage, grew in enumerate(step["grows"], start=1) if grew) or "none"
        lines.append(
            f"| {step['iteration']} | {step['A']} | {step['T']} | "
            f"{', '.join(map(str, audited['seeds']))} | {grows} |"
        )
    lines += [
        "",
        *_agreement_lines(record["pooled"]["by_criterion"], "##", " (every iteration's stages together)"),
    ]
    for audited in record["iterations"]:
        lines += [
            f"## Iteration {audited['iteration']}: A `{audited['depths']}`",
            "",
            *_audited_a_lines(audited, "###"),
        ]
    return "\n".join(lines) + "\n"


def _audited_a_lines(record: dict, heading: str) -> list[str]:
    """The gain, agreement and score-difference tables of one audited A."""
    lines = []
    for metric, label in METRIC_NAMES.items():
        lines += [
            f"{heading} Accuracy gain of growing one stage ({label}, points)",
            "",
            "| stage | child | gain per seed | mean [interval] | decided |",
            "|---|---|---|---|---|",
        ]
        for gain in record["gains"][metric]:
            lines.append(
                f"| {gain['stage']} | {gain['child']} | "
                f"{', '.join(f'{v * 100:+.2f}' for v in gain['per_seed'])} | "
                f"{_interval(gain, 100, 2)} | {'yes' if gain['decided'] else 'no'} |"
            )
        t_gain = record["t_gain"][metric]
        lines += ["", f"T (every stage grown) over A: {_interval(t_gain, 100, 2)} points.", ""]
    lines += _agreement_lines(record["by_criterion"], heading)
    lines += [
        f"{heading} Score differences T - A per stage",
        "",
        "| criterion | scored at epoch | stage | per seed | mean [interval] |",
        "|---|---|---|---|---|",
    ]
    for criterion, by_fraction in record["by_criterion"].items():
        for entry in by_fraction.values():
            for stage, difference in enumerate(entry["differences"], start=1):
                lines.append(
                    f"| {criterion} | {entry['epoch']} | {stage} | "
                    f"{', '.join(f'{v:+.4f}' for v in difference['per_seed'])} | "
                    f"{_interval(difference)} |"
                )
    return lines + [""]


def _agreement_lines(by_criterion: dict, heading: str, scope: str = "") -> list[str]:
    """Per metric, each criterion's agreement at each scoring epoch beside the constant rules."""
    lines = []
    for metric, label in METRIC_NAMES.items():
        lines += [
            f"{heading} Agreement with the {label} gain{scope}",
            "",
            "| criterion | scored at epoch | agreement | balanced | always grow | "
            "never grow | undecided stages | rank correlation |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for criterion, by_fraction in by_criterion.items():
            for entry in by_fraction.values():
                found = entry["agreement"][metric]
                lines.append(
                    f"| {criterion} | {entry['epoch']} | {_rate(found, 'rate')} | "
                    f"{_rate(found, 'balanced')} | {_rate(found, 'always_grow')} | "
                    f"{_rate(found, 'never_grow')} | {found['undecided_stages']} | "
                    f"{_number(entry['rank_correlation'][metric], 2)} |"
                )
        lines.append("")
    return lines


def audit_plot(record: dict, path: Path) -> None:
    """Balanced agreement on the test gain per criterion (at the end of training; a search's
    audit: over every iteration), beside the 0.5 of a constant rule or a coin flip."""
    by_criterion = (record["pooled"] if "iterations" in record else record)["by_criterion"]
    criteria = list(by_criterion)
    last = {c: list(by_criterion[c].values())[-1] for c in criteria}
    balanced = [last[c]["agreement"]["test_accuracy"]["balanced"] for c in criteria]
    figure = Figure(figsize=(1.2 * len(criteria) + 2, 3.2))
    axes = figure.subplots()
    axes.bar(criteria, [0 if b is None else b for b in balanced], color="tab:blue")
    for x, value in enumerate(balanced):
        axes.text(
            x,
            0.02 if value is None else value + 0.02,
            "n/a" if value is None else f"{value:.2f}",
            ha="center",
        )
    axes.axhline(0.5, color="tab:gray", linestyle="--", label="constant rule / coin flip")
    axes.set_ylim(0, 1.1)
    axes.set_ylabel("balanced agreement (test)")
    if "iterations" in record:
        audited = record["iterations"]
        title = (
            f"search {record['search']['name']}: {len(audited)} iterations, "
            f"{len(audited[0]['seeds'])} seeds each"
        )
    else:
        title = f"A {record['depths']}, {len(record['seeds'])} seeds"
    axes.set_title(f"{title}, {record['epochs']} epochs")
    axes.legend(loc="upper right", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def write_audit_report(
    record: dict, folder: Path, client: MlflowClient | None = None, parent_run_id: str | None = None
) -> dict[str, str]:
    """Write the three files into ``folder`` (and, given a run, log them as its artifacts, the
    markdown as its description); their paths by kind."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"json": folder / "audit.json", "markdown": folder / "audit.md", "plot": folder / "audit.png"}
    paths["json"].write_text(json.dumps(record, indent=2))
    markdown = audit_markdown(record)
    paths["markdown"].write_text(markdown)
    audit_plot(record, paths["plot"])
    if client is not None and parent_run_id is not None:
        for path in paths.values():
            client.log_artifact(parent_run_id, str(path))
        log_plot_images(client, parent_run_id, [paths["plot"]])
        set_description(client, parent_run_id, markdown)
    return {kind: str(path) for kind, path in paths.items()}
