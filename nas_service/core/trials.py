"""A trial's name and its per-stage results, read from its config and reports.

The name (``it2-T-8-10-6``) is the Tune trial's and the MLflow run's, so the console, the MLflow UI
and the reports name a network the same way.
"""

from __future__ import annotations

from trainables.spec import format_depths
from trainables.trial_config import REPLICATE_KEY, trial_identity

CHILD_ROLE_PREFIX = "grow-s"


def child_role(stage: int) -> str:
    """The role of the audit's network that deepens only stage ``stage`` (0-based) of its A:
    ``grow-s1`` .."""
    return f"{CHILD_ROLE_PREFIX}{stage + 1}"


def run_name(config: dict) -> str:
    """The trial's and the MLflow run's name: ``it2-T-8-10-6``, ``final-10-12-8``, ``sample-4-6-4``;
    with several init seeds per iteration ``it2-T-8-10-6-r2`` (the second seed's); an A, T or
    single-stage child outside a search's iterations (the audit's) ``A-2-2-2-r1``,
    ``grow-s1-3-2-2-r1``, and the audit of a search's iteration 2 ``it2-grow-s1-3-2-2-r1``."""
    depths, role, iteration = trial_identity(config)
    replicate = f"-r{config[REPLICATE_KEY]}" if config.get(REPLICATE_KEY) else ""
    if iteration and (role in ("A", "T") or role.startswith(CHILD_ROLE_PREFIX)):
        return f"it{iteration}-{role}-{format_depths(depths)}{replicate}"
    return f"{role}-{format_depths(depths)}{replicate}"


def per_stage_from_result(result: dict, key: str, num_stages: int) -> list | None:
    """``key``'s per-stage values from a trial result, nested (``key: {s1: ..}``) or flattened
    (``key/s1``); ``None`` when absent."""
    nested = result.get(key)
    try:
        if isinstance(nested, dict):
            return [nested[f"s{i + 1}"] for i in range(num_stages)]
        return [result[f"{key}/s{i + 1}"] for i in range(num_stages)]
    except KeyError:
        return None


def stage_scores_from_result(result: dict, num_stages: int) -> list[float] | None:
    """Per-stage importance from a trial result."""
    scores = per_stage_from_result(result, "importance", num_stages)
    return None if scores is None else [float(score) for score in scores]
