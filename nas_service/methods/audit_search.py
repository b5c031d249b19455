"""``stagewise-nas audit --from-search NAME``: audit the decisions a finished stage-wise search took,
on the networks it trained.

Iteration k of a search trained A_k and T_k from its init seeds and decided by one criterion.  The
audit reuses those networks (their runs' accuracies; their stage scores by every audited criterion
computed from the checkpoints the runs logged, on the images the search scored), trains each A_k's
single-stage children from the same init seeds (so they pair with the search's own A_k and T_k),
and trains A_k, T_k and the children from more seeds until each iteration has ``--seeds`` of
them: the seeds after every seed the search used (its found network's included), the same ones
for every iteration.  The audit runs with the search's saved settings (data, training, scoring),
so the search's decisions are judged at their own protocol, at the cost of the children and the
extra seeds only.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch
from mlflow.entities import Run
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from nas_service.config import SEARCH_LOCATION, SearchConfig
from nas_service.core.audit import AuditedA
from nas_service.core.errors import ConfigError
from nas_service.core.trials import run_name
from nas_service.tracking.queries import (
    child_runs,
    downloaded_checkpoint,
    find_parent_run,
    read_json_artifact,
)
from nas_service.tracking.tags import SEARCH_CONFIG_ARTIFACT
from trainables.checkpoints import ARCHITECTURE_FILE, CHECKPOINT_FILE
from trainables.datasets.splits import DataSplits
from trainables.evaluation import checkpoint_stage_scores
from trainables.spec import parse_depths
from trainables.stage_importance import scoring_key
from trainables.trial_config import INIT_SEED_KEY, trial_identity

logger = logging.getLogger(__name__)

FLAG = "--from-search"
FINAL_ARCHITECTURE_ARTIFACT = "final_architecture.json"


@dataclass(frozen=True)
class SearchedIterations:
    """A finished search as the audit reads it: its settings, its iterations' decision records
    (``final_architecture.json``) and its candidates' runs by name."""

    name: str
    parent_run_id: str
    tracking_uri: str
    settings: SearchConfig
    iterations: list[dict]
    runs: dict[str, Run]

    def describe(self) -> dict:
        """What ``audit.json`` says of the search it audited."""
        return {
            "name": self.name,
            "run_id": self.parent_run_id,
            "criterion": self.settings.criterion,
            "iterations": [
                {
                    "iteration": step["iteration"],
                    "A": step["A"],
                    "T": step["T"],
                    "init_seeds": step["init_seeds"],
                    "grows": step["grows"],
                    "runs_A": step["runs_A"],
                    "runs_T": step["runs_T"],
                }
                for step in self.iterations
            ],
        }


def searched_iterations(
    location: SearchConfig, name: str, seeds: int
) -> tuple[SearchConfig, SearchedIterations, list[AuditedA]]:
    """(the audit's settings, the search, one ``AuditedA`` per iteration with ``seeds`` seeds)
    for the finished stage-wise search ``name`` where ``location`` says it lives (its MLflow
    store and experiment).  Every refusal is a ``ConfigError`` naming the search, before any
    work: no such search, one not finished, one whose networks cannot be reused."""
    client = MlflowClient(location.tracking_uri)
    parent = find_parent_run(client, location.experiment, "stagewise", name)
    if parent is None:
        raise ConfigError(
            f"{FLAG} {name}: no stage-wise search of that name in experiment "
            f"{location.experiment!r} at {location.tracking_uri}"
        )
    run_id, status = parent.info.run_id, parent.info.status
    if status != "FINISHED":
        raise ConfigError(
            f"{FLAG} {name}: the search is {status.lower()} (MLflow run {run_id}); "
            "audit it once it has finished (stagewise-nas run --resume --name "
            f"{name} finishes an interrupted one)"
        )
    try:
        record = read_json_artifact(client, run_id, FINAL_ARCHITECTURE_ARTIFACT)
        saved = read_json_artifact(client, run_id, SEARCH_CONFIG_ARTIFACT)
    except (MlflowException, OSError):
        raise ConfigError(
            f"{FLAG} {name}: MLflow run {run_id} lacks "
            f"{FINAL_ARCHITECTURE_ARTIFACT} or {SEARCH_CONFIG_ARTIFACT}; it was "
            "not written by a finished stage-wise search"
        ) from None
    steps = record["iterations"]
    if not steps:
        raise ConfigError(f"{FLAG} {name}: the search decided nothing (no iteration ran)")
    if any("init_seeds" not in step for step in steps):
        raise ConfigError(
            f"{FLAG} {name}: saved by an older version, whose decisions do not "
            "name each iteration's init seeds; run the search again with this one"
        )
    settings = SearchConfig(**saved)
    if settings.final_epochs:
        raise ConfigError(
            f"{FLAG} {name}: the search trained its candidates on "
            f"(--final-epochs {settings.final_epochs}), so their runs no longer "
            "hold the networks its decisions compared"
        )
    runs = {run.info.run_name: run for run in child_runs(client, parent, "attributes.status = 'FINISHED'")}
    search = SearchedIterations(name, run_id, location.tracking_uri, settings, steps, runs)
    audited = audited_iterations(search, seeds, first_extra_seed(search))
    _check_reusable(client, search, audited)
    config = replace(settings, **{key: getattr(location, key) for key in SEARCH_LOCATION}, resume=False)
    logger.info(
        f"auditing search {name} (MLflow run {run_id}) with its saved settings: "
        f"{len(steps)} iterations, criterion {settings.criterion}"
    )
    return config, search, audited


def first_extra_seed(search: SearchedIterations) -> int:
    """The first seed after every init seed the search used, its found network's included."""
    used = [seed for step in search.iterations for seed in step["init_seeds"]]
    used += [
        int(run.data.params[INIT_SEED_KEY])
        for run in search.runs.values()
        if INIT_SEED_KEY in run.data.params
    ]
    return max(used) + 1


def audited_iterations(search: SearchedIterations, seeds: int, extra_from: int) -> list[AuditedA]:
    """Per iteration: its A with the search's init seeds, then extra seeds from ``extra_from``
    up to ``seeds`` in all; the search's A and T of each of its seeds are reused."""
    audited = []
    for step in search.iterations:
        own = [int(seed) for seed in step["init_seeds"]]
        extra = range(extra_from, extra_from + max(0, seeds - len(own)))
        a = AuditedA(parse_depths(step["A"]), (*own, *extra), int(step["iteration"]))
        names = a.names(search.settings.delta)
        reused = {}
        for role in ("A", "T"):
            for index, searched in enumerate(step[f"runs_{role}"]):
                run = search.runs.get(searched)
                if run is None:
                    raise ConfigError(
                        f"{FLAG} {search.name}: iteration {step['iteration']}'s "
                        f"{role} run {searched} is not a finished run of search "
                        f"{search.parent_run_id}"
                    )
                reused[names[role][index]] = run.info.run_id
        audited.append(replace(a, reused=reused))
    return audited


def _check_reusable(client: MlflowClient, search: SearchedIterations, audited: Sequence[AuditedA]) -> None:
    """Every reused network's run holds its checkpoint (the audit scores it from there)."""
    for a in audited:
        for run_id in a.reused.values():
            logged = {artifact.path for artifact in client.list_artifacts(run_id)}
            missing = [f for f in (ARCHITECTURE_FILE, CHECKPOINT_FILE) if f not in logged]
            if missing:
                raise ConfigError(
                    f"{FLAG} {search.name}: run {run_id} "
                    f"({client.get_run(run_id).info.run_name}) lacks "
                    f"{', '.join(missing)}, so its network cannot be scored"
                )


def reused_networks(
    search: SearchedIterations,
    audited: Sequence[AuditedA],
    criteria: Sequence[str],
    epoch: int,
    data: DataSplits,
    normalisation: tuple[torch.Tensor, torch.Tensor],
) -> tuple[dict[str, dict], dict[tuple[str, str, int], list[float]]]:
    """(audit run name -> measures, (audit run name, criterion, ``epoch``) -> stage scores) of
    the networks the search trained: accuracies from their runs, scores by every criterion from
    their checkpoints, with the key and scoring images the search's own trials used."""
    client = MlflowClient(search.tracking_uri)
    settings = search.settings
    networks, scores = {}, {}
    for a in audited:
        configs = {
            run_name(config): config for configs in a.networks(settings.delta).values() for config in configs
        }
        for name, run_id in a.reused.items():
            run = client.get_run(run_id)
            config = configs[name]
            depths, _, iteration = trial_identity(config)
            networks[name] = {
                "run_id": run_id,
                "init_seed": int(config[INIT_SEED_KEY]),
                "reused_from": f"{search.name}/{run.info.run_name}",
                **{metric: float(run.data.metrics[metric]) for metric in ("val_accuracy", "test_accuracy")},
            }
            with downloaded_checkpoint(client, run_id) as folder:
                by_criterion = checkpoint_stage_scores(
                    folder,
                    data,
                    normalisation,
                    criteria,
                    settings.scoring_samples,
                    settings.seed,
                    scoring_key(settings.seed, iteration, int(config[INIT_SEED_KEY]), depths),
                )
            for criterion, stage_scores in by_criterion.items():
                scores[name, criterion, epoch] = list(stage_scores.values())
            logger.info(
                f"audit: scored {name} (search {search.name}'s {run.info.run_name}) from its checkpoint"
            )
    return networks, scores
