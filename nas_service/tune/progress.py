"""What the console shows while a search runs, instead of Tune's per-epoch tables: where to watch
it (the MLflow UI, the Ray dashboard), a throttled status line per running trial with the
search's remaining time, and one line per finished or failed candidate."""

from __future__ import annotations

import logging
import os
import shlex
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ray.tune import Callback
from ray.tune.experiment import Trial

from nas_service.core.errors import failure_cause
from nas_service.core.eta import (
    RunningTrial,
    Work,
    pooled_epoch_seconds,
    remaining_text,
    seconds_left_by_phase,
    split_by_phase,
    within_budget,
)
from nas_service.core.trials import run_name, stage_scores_from_result
from nas_service.tune.fixed_searcher import FixedSearcher
from nas_service.tune.searcher import StageWiseSearcher
from trainables.trial_config import (
    CONTINUE_FROM_KEY,
    CONTINUES_KEY,
    EPOCHS_KEY,
    EXTRA_EPOCHS_KEY,
    LAST_RESULT_KEY,
    trial_identity,
)

logger = logging.getLogger(__name__)

FINISHED = (Trial.TERMINATED, Trial.ERROR)
LOCAL_MLFLOW_UI = "http://127.0.0.1:5000"  # where `mlflow ui` serves by default
# an epoch's time as Tune measures it between two reports: besides training (the trial's own
# ``epoch_seconds``) it holds validation, the checkpoint, the first epoch's set-up and the last
# one's stage scoring, which the trials still to come spend too.  From training alone, the
# estimate of a 4-epoch digits search was half the time it then took.
EPOCH_TIME_KEY = "time_this_iter_s"


@dataclass(frozen=True)
class SearchPlan:
    """What a search may run, as known when it starts: the remaining-time estimate needs it for
    the trials that Tune has not created yet."""

    trial_epochs: tuple[int, ...]  # epochs each trial the search may start trains, in order
    default_epochs: int  # the last epoch of a trial whose config does not set its own
    concurrency: int  # trials that run at once
    upper_bound: bool  # the search may end with fewer trials, or stop trials early
    # trials per phase, in order, when a phase starts only once the one before has ended (the
    # stage-wise search); None: one pool of trials that start as slots free up
    phase_sizes: tuple[int, ...] | None = None
    # --budget-images and the images of one epoch: the budget bounds the epochs still to train
    budget_images: float | None = None
    images_per_epoch: int = 1
    # a scheduler may end any trial after one epoch (ASHA): as many networks as epochs may start
    scheduler_stops: bool = False


def search_plan(
    search_alg,
    num_samples: int,
    epochs: int,
    concurrency: int,
    stops_early: bool,
    budget_images: float | None = None,
    images_per_epoch: int = 1,
    scheduler_stops: bool = False,
) -> SearchPlan:
    """``num_samples`` trials of ``epochs`` each, unless the searcher knows better: a
    ``FixedSearcher`` holds its configs, and the stage-wise searcher's last proposals are
    continuations of ``final_epochs`` each.  The stage-wise count is a maximum (it reuses networks
    and may converge early), and so is any count when a scheduler or a budget may stop trials
    (``stops_early``).  The stage-wise search runs in phases: each iteration's A and T, the found
    network alone, the references, the continuations."""
    phases = None
    if isinstance(search_alg, FixedSearcher):
        planned = [
            end - start for start, end in (epoch_span(config, epochs) for config in search_alg.pending)
        ]
    elif isinstance(search_alg, StageWiseSearcher):
        # its max_trials ends with one continuation per candidate: every iteration's A, the
        # found network and the references
        phases = search_alg.phase_sizes
        continued = phases[-1] if search_alg.options.final_epochs else 0
        planned = [epochs] * (num_samples - continued) + [search_alg.options.final_epochs] * continued
        if sum(phases) != len(planned):  # not the searcher's own count: one pool then
            phases = None
    else:
        planned = [epochs] * num_samples
    return SearchPlan(
        tuple(planned),
        epochs,
        concurrency,
        stops_early or isinstance(search_alg, StageWiseSearcher),
        phases,
        budget_images,
        images_per_epoch,
        scheduler_stops,
    )


def epoch_span(config: Mapping, default_epochs: int) -> tuple[int, int]:
    """(the epoch a trial starts after, its last epoch), as ``train_candidate`` counts them: a
    continuation (``--final-epochs``) starts where the trial it continues ended."""
    trained = int(config.get(EPOCHS_KEY, default_epochs))
    last = trained + int(config.get(EXTRA_EPOCHS_KEY, 0))
    return (trained if CONTINUE_FROM_KEY in config else 0), last


def quality(result: Mapping) -> str:
    """The validation accuracy of a result, or its training loss without a validation split."""
    if "val_accuracy" in result:
        return f"val accuracy {result['val_accuracy']:.4f}"
    return f"train loss {result.get('train_loss', float('nan')):.4f}"


class ProgressPrinter(Callback):
    """A status line per running trial (its first epoch, then at most one every ``every``
    seconds of ``clock``; not its last epoch, whose finished line follows), one line per finished
    or failed candidate."""

    # Tune gives a resumed search back the callbacks it pickled when the search started: one that
    # an older version pickled has no fields, reads these and prints finished lines only
    plan: SearchPlan | None = None
    finished: frozenset[str] = frozenset()  # trials whose finished line is out

    def __init__(self, plan: SearchPlan, every: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.plan = plan
        self.every = every
        self.clock = clock
        self.epoch_times: dict[str, dict[int, float]] = {}  # trial id -> epoch -> seconds
        self.last_line: dict[str, float] = {}  # trial id -> clock time of its last status line

    def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
        if self.plan is not None and "epoch" in result and EPOCH_TIME_KEY in result:
            self.epoch_times.setdefault(trial.trial_id, {})[int(result["epoch"])] = float(
                result[EPOCH_TIME_KEY]
            )
        if result.get(LAST_RESULT_KEY):
            # its finished line now, not when Tune has stopped the trial (seconds later for a
            # data-parallel one): the search's decision on it follows (``log_announcements``)
            if trial.trial_id not in self.finished:
                self.finished = self.finished | {trial.trial_id}
                self.log_finished(trial.config, result)
            return
        if self.plan is None:
            return
        line = self.status_line(trials, trial, result)
        if line is not None:
            logger.info(line)

    def status_line(self, trials: Sequence, trial, result: Mapping) -> str | None:
        """``it1-T-8-8-8: epoch 3/10, val accuracy 0.8123; search: ...``, or ``None`` when the
        trial's last line is fewer than ``every`` seconds old or this is its last epoch."""
        _, last_epoch = epoch_span(trial.config, self.plan.default_epochs)
        epoch = int(result.get("epoch", 0))
        if result.get("done") or epoch >= last_epoch:
            return None
        now = self.clock()
        previous = self.last_line.get(trial.trial_id)
        if previous is not None and now - previous < self.every:
            return None
        self.last_line[trial.trial_id] = now
        return (
            f"{run_name(trial.config)}: epoch {epoch}/{last_epoch}, {quality(result)}; "
            f"{self.remaining(trials, trial, result)}"
        )

    def remaining(self, trials: Sequence, current, result: Mapping) -> str:
        """The search's networks still to start and its time left, from every unfinished trial's
        progress (``current``'s from ``result``: Tune updates its ``last_result`` after the
        callbacks) and the plan's trials that Tune has not created yet."""
        pooled = pooled_epoch_seconds(epochs.values() for epochs in self.epoch_times.values())
        to_come, later = split_by_phase(
            self.plan.trial_epochs, self.plan.phase_sizes or (len(self.plan.trial_epochs),), len(trials)
        )
        running, images_seen = [], 0.0
        for trial in trials:
            latest = result if trial is current else (trial.last_result or {})
            images_seen += float(latest.get("images_seen", 0) or 0)
            if trial.status in FINISHED:
                continue
            start, last_epoch = epoch_span(trial.config, self.plan.default_epochs)
            left = last_epoch - max(start, int(latest.get("epoch", start)))
            if trial.status == Trial.PENDING:  # a retried trial, too, waits for a free slot
                to_come.append(left)
                continue
            own = self.epoch_times.get(trial.trial_id)  # none before its first epoch ends
            # its own speed, its first epoch (the process's start) left out as in the pool
            running.append((left, pooled_epoch_seconds([own.values()]) if own else pooled))
        work = Work([left for left, _ in running], to_come, later)
        networks = work.networks()
        budget = getattr(self.plan, "budget_images", None)  # a plan pickled by older code: none
        if budget is not None:
            work, networks = within_budget(
                work, (budget - images_seen) / self.plan.images_per_epoch, self.plan.scheduler_stops
            )
        seconds = (
            None
            if pooled is None
            else seconds_left_by_phase(
                [RunningTrial(left, speed) for left, (_, speed) in zip(work.running, running, strict=True)],
                work.to_come,
                work.later,
                pooled,
                self.plan.concurrency,
            )
        )
        return remaining_text(networks, self.plan.upper_bound, seconds)

    def on_trial_complete(self, iteration, trials, trial, **info) -> None:
        if trial.trial_id not in self.finished:  # ended before its last epoch (ASHA, a budget)
            self.log_finished(trial.config, trial.last_result or {})

    def log_finished(self, config: Mapping, result: Mapping) -> None:
        """``it1-T-8-8-8: val accuracy 0.9694 after 10 epochs, importance [...], 12 s``."""
        scores = stage_scores_from_result(result, len(trial_identity(config)[0])) or []
        importance = ", importance [" + ", ".join(f"{score:.4f}" for score in scores) + "]" if scores else ""
        continued = (
            f" (continued for --final-epochs {config[EXTRA_EPOCHS_KEY]})" if CONTINUES_KEY in config else ""
        )
        logger.info(
            f"{run_name(config)}{continued}: {quality(result)} after "
            f"{result.get('epoch', 0)} epochs{importance}, "
            f"{result.get('time_total_s', 0):.0f} s"
        )

    def on_trial_recover(self, iteration, trials, trial, **info) -> None:
        logger.info(
            f"{run_name(trial.config)} failed{trial_failure_cause(trial)}; retrying from its last checkpoint"
        )

    def on_trial_error(self, iteration, trials, trial, **info) -> None:
        logger.info(
            f"{run_name(trial.config)} failed{trial_failure_cause(trial)}; traceback in "
            f"{trial.path}/error.txt"
        )


def trial_failure_cause(trial) -> str:
    """The cause from the last line of the trial's error file.  Tune's own multi-page traceback
    per failure is switched off (``nas_service.tune.experiment``); the whole traceback stays in
    that file."""
    path = trial.error_file
    return failure_cause(Path(path).read_text() if path and Path(path).is_file() else None)


def mlflow_ui_hint(tracking_uri: str, experiment_id: str, parent_run_id: str) -> str | None:
    """How to watch the search in the MLflow UI: a server's page of the parent run, or the
    ``mlflow ui`` command that serves a local store (sqlite, a folder) and the experiment's page
    there.  ``None`` for Databricks, whose workspace has its own UI."""
    scheme = urllib.parse.urlparse(tracking_uri).scheme
    if scheme in ("http", "https"):
        return f"MLflow UI: {tracking_uri.rstrip('/')}/#/experiments/{experiment_id}/runs/{parent_run_id}"
    if "databricks" in (scheme, tracking_uri):
        return None
    return (
        f"MLflow UI: mlflow ui --backend-store-uri {shlex.quote(anywhere_uri(tracking_uri))}, "
        f"then {LOCAL_MLFLOW_UI}/#/experiments/{experiment_id}"
    )


def anywhere_uri(tracking_uri: str) -> str:
    """A local store's URI with an absolute path, so that ``mlflow ui`` finds it from any
    folder; other URIs (``file:``, database servers) as given."""
    scheme = urllib.parse.urlparse(tracking_uri).scheme
    if scheme == "sqlite":
        return f"sqlite:///{os.path.abspath(tracking_uri.removeprefix('sqlite:///'))}"
    if scheme == "":
        return os.path.abspath(os.path.expanduser(tracking_uri))
    return tracking_uri


def dashboard_hint(address: str | None, environ: Mapping[str, str] = os.environ) -> str | None:
    """``Ray dashboard: http://127.0.0.1:8265`` for the dashboard's ``address`` (Ray gives it
    without a scheme), ``None`` without one.  With token authentication (``RAY_AUTH_MODE=token``,
    the default of a local Ray now) the dashboard asks for the cluster's token: say where it is."""
    if not address:
        return None
    url = address if "://" in address else f"http://{address}"
    token = (
        " (it asks for the token that `ray get-auth-token` prints)"
        if environ.get("RAY_AUTH_MODE", "").lower() == "token"
        else ""
    )
    return f"Ray dashboard: {url}{token}"
