"""The words and records of the searcher's decisions: one per iteration that ran, never one for an
iteration that did not, and a reused network named as reused with the run it comes from."""

from __future__ import annotations

from trainables.spec import format_depths


def decision_record(step: dict) -> dict:
    """One iteration's decision (a ``StageWiseSearcher.history`` entry) as JSON-friendly values:
    what ``final_architecture.json``, the report and the console show."""
    return {
        "iteration": step["iteration"],
        "init_seeds": step["init_seeds"],
        "A": format_depths(step["depths_a"]),
        "T": format_depths(step["depths_t"]),
        "runs_A": step["runs_a"],
        "runs_T": step["runs_t"],
        "reused_A": step["reused_a"],
        "reused_T": step["reused_t"],
        "importance_A": step["importance_a"],
        "importance_T": step["importance_t"],
        "importance_A_per_seed": step["importance_a_per_seed"],
        "importance_T_per_seed": step["importance_t_per_seed"],
        "confidence": step["confidence"],
        "grows": step["wins"],
        "held_back_by_limit": [stage + 1 for stage in step["held_back"]],
        "bound_by": step["bound_by"],
        "next": format_depths(step["grown"]),
        "outcome": step["outcome"],
    }


def network_text(step: dict, role: str) -> str:
    """``3-3-3``, ``3-3-3 x2 seeds`` or ``3-3-3 (reused from it1-T-3-3-3)`` (a record written
    before every iteration trained its own A names one run, ``run_A``)."""
    runs = step.get(f"runs_{role}") or [step[f"run_{role}"]]
    text = step[role] + (f" x{len(runs)} seeds" if len(runs) > 1 else "")
    return f"{text} (reused from {', '.join(runs)})" if step[f"reused_{role}"] else text


def confidence_text(step: dict) -> str:
    """``0.12, 0.48, 0.97`` or ``-`` without a bootstrap."""
    confidence = step.get("confidence")
    return ", ".join(f"{p:.2f}" for p in confidence) if confidence else "-"


def describe_decision(step: dict) -> str:
    """One line: what was compared, how sure (with a bootstrap), what it decided."""
    sure = f"; P(T beats A) per stage {confidence_text(step)}" if step.get("confidence") else ""
    return (
        f"iteration {step['iteration']}: A {network_text(step, 'A')} vs T "
        f"{network_text(step, 'T')}{sure} -> {step['next']} ({step['outcome']})"
    )


def decision_lines(record: dict) -> list[str]:
    """The console's account of a finished search: every iteration that ran, how it ended and
    where the found network was trained."""
    lines = [describe_decision(step) for step in record["iterations"]]
    converged = record.get("converged")
    if converged:
        lines.append(f"converged after iteration {converged['after_iteration']}: {converged['reason']}")
    if record.get("run_name") and not record["run_name"].startswith("final-"):
        lines.append(
            f"the found network {record['depths']} is {record['run_name']}, reused "
            "(the same depths and initialisation seed were already trained)"
        )
    return lines
