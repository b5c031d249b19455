"""``stagewise-nas audit``: does a criterion's growth decision predict what growing a stage does to
accuracy, on the user's data?

For each audited A (``--depths``, default the m0 network; or every iteration's A of a finished
search, ``nas_service.methods.audit_search``) and each of its paired seeds, it trains A, T (every
stage deepened by delta) and each single-stage child (A with only stage i deepened) as Tune
trials: a seed gives all of them the same init seed and batch order.  A and T are scored with
every criterion of ``--criteria`` on one extraction of their stage features, at the end of
training and, with ``--score-at``, at earlier fractions of it; the networks a finished search
trained already are not trained again but scored from their checkpoints.  The numbers
(``nas_service.core.audit``) go to ``audit.json``, ``audit.md`` and ``audit.png`` in the run's
report folder and to the MLflow parent run, whose children are the networks it trained.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np
from mlflow.tracking import MlflowClient

from nas_service.config import SearchConfig
from nas_service.core.audit import (
    CONFIDENCE_LEVEL,
    AuditedA,
    agreement,
    rank_correlation,
    seed_interval,
)
from nas_service.core.errors import SearchInterrupted
from nas_service.core.growth import deepen_stage
from nas_service.core.trials import run_name
from nas_service.methods.audit_search import SearchedIterations, reused_networks
from nas_service.reporting.audit_report import write_audit_report
from nas_service.tune.experiment import start_experiment
from nas_service.tune.fixed_searcher import FixedSearcher
from nas_service.tune.results import raise_if_trials_failed
from nas_service.tune.stop_signals import interruption_name
from scoring.actor import create_scoring_pool
from trainables.datasets.splits import DataSplits
from trainables.spec import format_depths
from trainables.trial_config import (
    IMPORTANCE_BY_KEY,
    INIT_SEED_KEY,
    SCORE_AT_KEY,
    SCORE_WITH_KEY,
)

logger = logging.getLogger(__name__)

METHOD = "audit"
METRICS = ("val_accuracy", "test_accuracy")
SCORED_ROLES = ("A", "T")


def score_epochs(fractions: Sequence[float], epochs: int) -> dict[float, int]:
    """The 1-based epoch at which each fraction of training ends (at least the first)."""
    return {fraction: max(1, math.ceil(fraction * epochs - 1e-9)) for fraction in fractions}


def audit_trials(
    audited: Sequence[AuditedA], delta: int, criteria: Sequence[str], epochs_to_score: Sequence[int]
) -> list[dict]:
    """Per A and seed: A and T, scored with ``criteria`` at ``epochs_to_score``, and every
    single-stage child, unscored; cheapest first within a seed, and none a search trained
    already (``AuditedA.reused``)."""
    trials = []
    scored = {SCORE_WITH_KEY: list(criteria), SCORE_AT_KEY: sorted(set(epochs_to_score))}
    for a in audited:
        networks = a.networks(delta)
        for index in range(len(a.seeds)):
            for role, configs in networks.items():
                config = configs[index]
                if run_name(config) not in a.reused:
                    trials.append({**config, **(scored if role in SCORED_ROLES else {})})
    return trials


def audit(
    config: SearchConfig,
    audited: Sequence[AuditedA],
    criteria: Sequence[str],
    fractions: Sequence[float],
    level: float = CONFIDENCE_LEVEL,
    data: DataSplits | None = None,
    search: SearchedIterations | None = None,
) -> dict:
    """Train and score the audit's networks; returns the ``audit.json`` record with the paths
    of the files written.  ``level``: of the t-intervals over seeds; ``search``: the finished
    search whose iterations ``audited`` are (its trained networks are reused)."""
    epochs = config.training().epochs
    at = score_epochs(fractions, epochs)
    trials = audit_trials(audited, config.delta, criteria, list(at.values()))
    data = data if data is not None else config.load_data()
    experiment = start_experiment(config, METHOD, score_stages=False, data=data)
    reused = sum(len(a.reused) for a in audited)
    logger.info(
        f"audit: {len(audited)} A ({', '.join(format_depths(a.depths) for a in audited)})"
        f", delta {config.delta}, {len(audited[0].seeds)} seeds each: {len(trials)} "
        f"networks to train{f', {reused} reused from search {search.name}' if search else ''}"
        f"; criteria {', '.join(criteria)} scored at epochs "
        f"{', '.join(map(str, sorted(set(at.values()))))}"
    )
    scorers = create_scoring_pool(config.scoring_actors, criterion=criteria[0])
    tuner = experiment.make_tuner(scorers, len(trials), search_alg=FixedSearcher(trials))
    with experiment.parent_run_status():
        results, _ = experiment.fit(tuner)
        if experiment.stop_requested:  # not resumable: the audit's driver state is not saved
            raise SearchInterrupted(
                f"audit interrupted ({interruption_name()}); MLflow run "
                f"{experiment.parent_run_id} keeps every network that finished. An audit cannot "
                "be resumed yet: run it again under a new --name"
            )
        raise_if_trials_failed(results, "the audit's networks")
        run_ids = experiment.child_run_ids()
        networks = {
            run_name(result.config): {
                "run_id": run_ids.get(result.metrics["trial_id"]),
                "init_seed": int(result.config[INIT_SEED_KEY]),
                **{metric: float(result.metrics[metric]) for metric in METRICS},
            }
            for result in results
        }
        # the trials that scored their stages say so in their configs
        scores = logged_scores(
            experiment.client,
            {
                run_name(result.config): networks[run_name(result.config)]["run_id"]
                for result in results
                if SCORE_WITH_KEY in result.config
            },
            criteria,
            len(audited[0].depths),
        )
        if search is not None:
            found, found_scores = reused_networks(
                search, audited, criteria, epochs, data, experiment.settings.normalisation(data)
            )
            networks.update(found)
            scores.update(found_scores)
        records = [audit_record(a, config.delta, criteria, at, networks, scores, level) for a in audited]
        record = {
            "delta": config.delta,
            "epochs": epochs,
            "criteria": list(criteria),
            "interval_level": level,
            "score_at": {str(fraction): epoch for fraction, epoch in at.items()},
        }
        if search is None:
            record.update(records[0])
        else:
            record.update(
                {
                    "search": search.describe(),
                    "iterations": records,
                    "pooled": pooled_record(records, criteria, level),
                }
            )
        folder = experiment.folder / "report"
        record["files"] = write_audit_report(record, folder, experiment.client, experiment.parent_run_id)
    for path in record["files"].values():
        logger.info(f"audit: {path}")
    return record


def score_metric(criterion: str, stage: int) -> str:
    """The MLflow metric of a scored network's stage score by ``criterion`` (0-based ``stage``),
    logged at the epochs it was scored (its steps)."""
    return f"{IMPORTANCE_BY_KEY}/{criterion}/s{stage + 1}"


def logged_scores(
    client: MlflowClient, runs: dict[str, str], criteria: Sequence[str], stages: int
) -> dict[tuple[str, str, int], list[float]]:
    """(run name, criterion, epoch) -> the stage scores, read back from the runs' metric
    histories (``runs``: run name -> run id)."""
    scores: dict[tuple[str, str, int], list[float]] = {}
    for name, run_id in runs.items():
        for criterion in criteria:
            for stage in range(stages):
                for metric in client.get_metric_history(run_id, score_metric(criterion, stage)):
                    scores.setdefault((name, criterion, metric.step), [np.nan] * stages)[stage] = metric.value
    return scores


def audit_record(
    audited: AuditedA,
    delta: int,
    criteria: Sequence[str],
    at: dict[float, int],
    networks: dict[str, dict],
    scores: dict[tuple[str, str, int], list],
    level: float = CONFIDENCE_LEVEL,
) -> dict:
    """Every number of one audited A from its networks' measures (``networks``: run name ->
    ``{val_accuracy, test_accuracy, init_seed, run_id, ..}``) and stage scores
    (``logged_scores``)."""
    depths, stages = audited.depths, range(len(audited.depths))
    names = audited.names(delta)
    a_names, t_names = names["A"], names["T"]
    child_names = [names[role] for role in names if role not in SCORED_ROLES]

    def gain(of: list[str], metric: str) -> list[float]:
        return [networks[grown][metric] - networks[a][metric] for grown, a in zip(of, a_names, strict=True)]

    gains = {metric: [gain(child_names[i], metric) for i in stages] for metric in METRICS}
    t_gain = {metric: gain(t_names, metric) for metric in METRICS}
    by_criterion = {}
    for criterion in criteria:
        by_fraction = {}
        for fraction, epoch in at.items():
            per_stage = stage_differences(scores, t_names, a_names, criterion, epoch)
            by_fraction[str(fraction)] = {
                "epoch": epoch,
                "differences": [
                    {"per_seed": per_stage[i], **seed_interval(per_stage[i], level).to_dict()} for i in stages
                ],
                "agreement": {
                    metric: agreement(per_stage, gains[metric], level).to_dict() for metric in METRICS
                },
                "rank_correlation": {
                    metric: rank_correlation(per_stage, gains[metric]) for metric in METRICS
                },
            }
        by_criterion[criterion] = by_fraction
    own = [name for role_names in names.values() for name in role_names]
    return {
        **({"iteration": audited.iteration} if audited.iteration else {}),
        "depths": format_depths(depths),
        "seeds": list(audited.seeds),
        "gains": {
            metric: [gain_entry(depths, delta, i, gains[metric][i], level) for i in stages]
            for metric in METRICS
        },
        "t_gain": {
            metric: {"per_seed": t_gain[metric], **seed_interval(t_gain[metric], level).to_dict()}
            for metric in METRICS
        },
        "by_criterion": by_criterion,
        "networks": [{"run_name": name, **networks[name]} for name in sorted(own)],
    }


def stage_differences(
    scores: dict[tuple[str, str, int], list],
    t_names: list[str],
    a_names: list[str],
    criterion: str,
    epoch: int,
) -> list[list[float]]:
    """[stage][seed] the T - A score difference by ``criterion`` at ``epoch``."""
    differences = [
        [
            t - a
            for t, a in zip(scores[t_name, criterion, epoch], scores[a_name, criterion, epoch], strict=True)
        ]
        for t_name, a_name in zip(t_names, a_names, strict=True)
    ]
    return np.asarray(differences).T.tolist()


def pooled_record(records: Sequence[dict], criteria: Sequence[str], level: float = CONFIDENCE_LEVEL) -> dict:
    """Agreement and rank correlation over every audited A's stages together (a search's
    iterations): each (A, stage) is one row of the cells."""
    pooled = {}
    for criterion in criteria:
        by_fraction = {}
        for fraction, entry in records[0]["by_criterion"][criterion].items():
            differences = [
                d["per_seed"]
                for record in records
                for d in record["by_criterion"][criterion][fraction]["differences"]
            ]
            by_fraction[fraction] = {"epoch": entry["epoch"], "agreement": {}, "rank_correlation": {}}
            for metric in METRICS:
                gains = [g["per_seed"] for record in records for g in record["gains"][metric]]
                by_fraction[fraction]["agreement"][metric] = agreement(differences, gains, level).to_dict()
                by_fraction[fraction]["rank_correlation"][metric] = rank_correlation(differences, gains)
        pooled[criterion] = by_fraction
    return {"by_criterion": pooled}


def gain_entry(depths: tuple[int, ...], delta: int, stage: int, per_seed: list[float], level: float) -> dict:
    """One stage's accuracy gain: the child, per seed, mean and interval, and whether the
    interval excludes 0 (``decided``)."""
    interval = seed_interval(per_seed, level)
    return {
        "stage": stage + 1,
        "child": format_depths(deepen_stage(depths, stage, delta)),
        "per_seed": per_seed,
        **interval.to_dict(),
        "decided": interval.excludes_zero,
    }
