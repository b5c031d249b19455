"""``stagewise-nas audit``: does a criterion's growth decision predict what growing a stage does to
accuracy, on the user's data?

For the network A (``--depths``, default the m0 network) and every seed j of ``--seeds k``, it
trains A, T (every stage deepened by delta) and each single-stage child (A with only stage i
deepened) as Tune trials, paired: a seed gives all of them the same init seed and batch order.
A and T are scored with every criterion of ``--criteria`` on one extraction of their stage
features, at the end of training and, with ``--score-at``, at earlier fractions of it.  The
numbers (``nas_service.core.audit``) go to ``audit.json``, ``audit.md`` and ``audit.png`` in the
run's report folder and to the MLflow parent run, whose children are the trained networks.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np
from mlflow.tracking import MlflowClient

from nas_service.config import SearchConfig
from nas_service.core.audit import CONFIDENCE_LEVEL, agreement, rank_correlation, seed_interval
from nas_service.core.errors import SearchInterrupted
from nas_service.core.growth import deepen_all, deepen_stage
from nas_service.core.trials import run_name
from nas_service.reporting.audit_report import write_audit_report
from nas_service.tune.experiment import raise_if_trials_failed, start_experiment
from nas_service.tune.fixed_searcher import FixedSearcher
from nas_service.tune.stop_signals import interruption_name
from scoring.actor import create_scoring_pool
from trainables.datasets.splits import DataSplits
from trainables.spec import format_depths
from trainables.trial_config import (
    IMPORTANCE_BY_KEY,
    INIT_SEED_KEY,
    REPLICATE_KEY,
    SCORE_AT_KEY,
    SCORE_WITH_KEY,
    trial_config,
)

logger = logging.getLogger(__name__)

METHOD = "audit"
METRICS = ("val_accuracy", "test_accuracy")


def child_role(stage: int) -> str:
    """The role of the child that deepens stage ``stage`` (0-based): ``grow-s1`` .."""
    return f"grow-s{stage + 1}"


def score_epochs(fractions: Sequence[float], epochs: int) -> dict[float, int]:
    """The 1-based epoch at which each fraction of training ends (at least the first)."""
    return {fraction: max(1, math.ceil(fraction * epochs - 1e-9)) for fraction in fractions}


def audit_trials(depths: tuple[int, ...], delta: int, seeds: Sequence[int], criteria: Sequence[str],
                 epochs_to_score: Sequence[int]) -> list[dict]:
    """Per seed: A and T, scored with ``criteria`` at ``epochs_to_score``, then every
    single-stage child, unscored; cheapest first within a seed."""
    trials = []
    scored = {SCORE_WITH_KEY: list(criteria), SCORE_AT_KEY: sorted(set(epochs_to_score))}
    for index, seed in enumerate(seeds):
        common = {INIT_SEED_KEY: seed, REPLICATE_KEY: index + 1}
        trials.append(trial_config(depths, "A", **common, **scored))
        trials += [trial_config(deepen_stage(depths, stage, delta), child_role(stage), **common)
                   for stage in range(len(depths))]
        trials.append(trial_config(deepen_all(depths, delta), "T", **common, **scored))
    return trials


def audit(config: SearchConfig, seeds: Sequence[int], criteria: Sequence[str],
          fractions: Sequence[float], level: float = CONFIDENCE_LEVEL,
          data: DataSplits | None = None) -> dict:
    """Train and score the audit's networks; returns the ``audit.json`` record with the paths
    of the files written.  ``level``: of the t-intervals over seeds."""
    depths = config.start_depths
    epochs = config.training().epochs
    at = score_epochs(fractions, epochs)
    trials = audit_trials(depths, config.delta, seeds, criteria, list(at.values()))
    experiment = start_experiment(config, METHOD, score_stages=False, data=data)
    logger.info(f"audit: A {format_depths(depths)}, delta {config.delta}, seeds "
                f"{', '.join(map(str, seeds))}: {len(trials)} networks; criteria "
                f"{', '.join(criteria)} scored at epochs {', '.join(map(str, sorted(set(at.values()))))}")
    scorers = create_scoring_pool(config.scoring_actors, criterion=criteria[0])
    tuner = experiment.make_tuner(scorers, len(trials), search_alg=FixedSearcher(trials))
    with experiment.parent_run_status():
        results, _ = experiment.fit(tuner)
        if experiment.stop_requested:  # not resumable: the audit's driver state is not saved
            raise SearchInterrupted(
                f"audit interrupted ({interruption_name()}); MLflow run "
                f"{experiment.parent_run_id} keeps every network that finished. An audit cannot "
                "be resumed yet: run it again under a new --name")
        raise_if_trials_failed(results, "the audit's networks")
        run_ids = experiment.child_run_ids()
        measured = {run_name(result.config): result for result in results}
        scores = logged_scores(experiment.client, {
            key: run_ids[result.metrics["trial_id"]] for key, result in measured.items()
            if SCORE_WITH_KEY in result.config}, criteria, len(depths))
        record = audit_record(config, seeds, criteria, at, measured, scores, run_ids, level)
        folder = experiment.folder / "report"
        record["files"] = write_audit_report(record, folder, experiment.client,
                                             experiment.parent_run_id)
    for path in record["files"].values():
        logger.info(f"audit: {path}")
    return record


def _final(result, metric: str) -> float:
    return float(result.metrics[metric])


def score_metric(criterion: str, stage: int) -> str:
    """The MLflow metric of a scored network's stage score by ``criterion`` (0-based ``stage``),
    logged at the epochs it was scored (its steps)."""
    return f"{IMPORTANCE_BY_KEY}/{criterion}/s{stage + 1}"


def logged_scores(client: MlflowClient, runs: dict[str, str], criteria: Sequence[str],
                  stages: int) -> dict[tuple[str, str, int], list[float]]:
    """(run name, criterion, epoch) -> the stage scores, read back from the runs' metric
    histories (``runs``: run name -> run id)."""
    scores: dict[tuple[str, str, int], list[float]] = {}
    for name, run_id in runs.items():
        for criterion in criteria:
            for stage in range(stages):
                for metric in client.get_metric_history(run_id, score_metric(criterion, stage)):
                    scores.setdefault((name, criterion, metric.step), [np.nan] * stages)[
                        stage] = metric.value
    return scores


def audit_record(config: SearchConfig, seeds: Sequence[int], criteria: Sequence[str],
                 at: dict[float, int], measured: dict, scores: dict[tuple[str, str, int], list],
                 run_ids: dict[str, str], level: float = CONFIDENCE_LEVEL) -> dict:
    """Every number of the audit from the trained networks' results (``measured``: run name ->
    Tune result) and stage scores (``logged_scores``)."""
    depths, delta = config.start_depths, config.delta
    stages = range(len(depths))

    def name(role: str, network: tuple[int, ...], index: int) -> str:
        return run_name(trial_config(network, role, **{REPLICATE_KEY: index + 1}))

    a_names = [name("A", depths, j) for j in range(len(seeds))]
    t_names = [name("T", deepen_all(depths, delta), j) for j in range(len(seeds))]
    child_names = [[name(child_role(i), deepen_stage(depths, i, delta), j)
                    for j in range(len(seeds))] for i in stages]
    gains = {metric: [[_final(measured[c], metric) - _final(measured[a], metric)
                       for c, a in zip(child_names[i], a_names, strict=True)] for i in stages]
             for metric in METRICS}
    t_gain = {metric: [_final(measured[t], metric) - _final(measured[a], metric)
                       for t, a in zip(t_names, a_names, strict=True)] for metric in METRICS}
    by_criterion = {}
    for criterion in criteria:
        by_fraction = {}
        for fraction, epoch in at.items():
            differences = [[t - a for t, a in zip(scores[t_name, criterion, epoch],
                                                  scores[a_name, criterion, epoch], strict=True)]
                           for t_name, a_name in zip(t_names, a_names, strict=True)]
            per_stage = np.asarray(differences).T.tolist()  # [stage][seed]
            by_fraction[str(fraction)] = {
                "epoch": epoch,
                "differences": [{"per_seed": per_stage[i], **seed_interval(per_stage[i], level).to_dict()}
                                for i in stages],
                "agreement": {metric: agreement(per_stage, gains[metric], level).to_dict()
                              for metric in METRICS},
                "rank_correlation": {metric: rank_correlation(per_stage, gains[metric])
                                     for metric in METRICS}}
        by_criterion[criterion] = by_fraction
    networks = [{"run_name": key, "run_id": run_ids.get(result.metrics.get("trial_id")),
                 "init_seed": int(result.config[INIT_SEED_KEY]),
                 **{metric: _final(result, metric) for metric in METRICS}}
                for key, result in sorted(measured.items())]
    return {
        "depths": format_depths(depths), "delta": delta, "seeds": list(seeds),
        "epochs": config.training().epochs, "criteria": list(criteria), "interval_level": level,
        "score_at": {str(fraction): epoch for fraction, epoch in at.items()},
        "gains": {metric: [gain_entry(depths, delta, i, gains[metric][i], level) for i in stages]
                  for metric in METRICS},
        "t_gain": {metric: {"per_seed": t_gain[metric], **seed_interval(t_gain[metric], level).to_dict()}
                   for metric in METRICS},
        "by_criterion": by_criterion,
        "networks": networks,
    }


def gain_entry(depths: tuple[int, ...], delta: int, stage: int, per_seed: list[float],
               level: float) -> dict:
    """One stage's accuracy gain: the child, per seed, mean and interval, and whether the
    interval excludes 0 (``decided``)."""
    interval = seed_interval(per_seed, level)
    return {"stage": stage + 1, "child": format_depths(deepen_stage(depths, stage, delta)),
            "per_seed": per_seed, **interval.to_dict(), "decided": interval.excludes_zero}
