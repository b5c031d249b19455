"""The Tune callback that gives every trial of a search a child run of its parent run: params when
the trial starts, per-epoch metrics as it trains, the checkpoint as artifacts when it ends."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from mlflow.entities import (
    Dataset,
    Metric,
    Param,
    RunTag,
)
from mlflow.tracking import MlflowClient
from ray.tune import Callback
from ray.tune.result import AUTO_RESULT_KEYS
from ray.tune.utils import flatten_dict

from nas_service.core.trials import run_name
from nas_service.tracking.queries import child_runs
from nas_service.tracking.records import log_dataset
from nas_service.tracking.tags import (
    ACCELERATION_TAG_PREFIX,
    METHOD_TAG,
    NODE_ID_TAG,
    PARENT_RUN_ID_TAG,
    TRIAL_ID_TAG,
    WORKER_NODE_IDS_TAG,
)
from trainables.checkpoints import ARCHITECTURE_FILE, CHECKPOINT_FILE
from trainables.data_parallel import latest_checkpoint
from trainables.spec import ArchSpec, format_depths
from trainables.trial_config import (
    CONTINUES_KEY,
    EPOCHS_KEY,
    EXTRA_EPOCHS_KEY,
    INIT_SEED_KEY,
    trial_identity,
)


def numeric_metrics(result: dict) -> dict[str, float]:
    """The trainable's numeric measures in a Tune result, flattened (``importance/s1``)."""
    flat = flatten_dict({k: v for k, v in result.items() if k not in AUTO_RESULT_KEYS})
    return {
        key: float(value)
        for key, value in flat.items()
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    }


class MLflowTrialCallback(Callback):
    """A child run per trial, nested under the parent; per-epoch metrics, artifacts at the end."""

    def __init__(
        self,
        tracking_uri: str,
        parent_run_id: str,
        template: ArchSpec,
        search_params: dict[str, Any],
        dataset: Dataset | None = None,
    ) -> None:
        """``template``: any network of the search (its module, widths and data shape), from
        which each trial's depth is computed; ``search_params``: the settings every child shows
        beside its own (``trial_params``); ``dataset``: the data set, an input of every child."""
        self.tracking_uri = tracking_uri
        self.parent_run_id = parent_run_id
        self.template = template
        self.search_params = search_params
        self.dataset = dataset
        self.run_ids: dict[str, str] = {}
        # trial id -> the last epoch its run holds; a trial that restarts from an older
        # checkpoint (its driver was killed after logging a later epoch) trains those epochs
        # again, bit for bit, and they are not logged twice
        self.logged_epoch: dict[str, int] = {}
        self._client: MlflowClient | None = None

    @property
    def client(self) -> MlflowClient:
        if self._client is None:
            self._client = MlflowClient(self.tracking_uri)
        return self._client

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_client": None}

    def get_state(self) -> dict:
        """Saved with Tune's experiment state, so a resumed search logs into the same runs."""
        return {"run_ids": dict(self.run_ids)}

    def set_state(self, state: dict) -> None:
        self.run_ids.update(state.get("run_ids", {}))

    def _existing_run(self, trial_id: str) -> str | None:
        """The child run of ``trial_id`` when a resumed search meets a trial logged before the
        driver died (after the last state Tune saved)."""
        runs = child_runs(self.client, self.parent_run_id, f"tags.`{TRIAL_ID_TAG}` = '{trial_id}'")
        return runs[0].info.run_id if runs else None

    def on_trial_start(self, iteration, trials, trial, **info) -> None:
        continues = trial.config.get(CONTINUES_KEY)
        if continues in self.run_ids and trial.trial_id not in self.run_ids:
            # --final-epochs: the candidate's own run goes on, its epochs numbered on
            self.run_ids[trial.trial_id] = self.run_ids[continues]
            self.client.log_param(self.run_ids[continues], "final_epochs", trial.config[EXTRA_EPOCHS_KEY])
        if trial.trial_id not in self.run_ids:
            existing = self._existing_run(trial.trial_id)
            if existing is not None:
                self.run_ids[trial.trial_id] = existing
        if trial.trial_id in self.run_ids:
            run_id = self.run_ids[trial.trial_id]
            self.client.update_run(run_id, status="RUNNING")
            epochs = self.client.get_metric_history(run_id, "epoch")
            self.logged_epoch[trial.trial_id] = max((m.step for m in epochs), default=0)
            return
        parent = self.client.get_run(self.parent_run_id)
        depths, role, iteration = trial_identity(trial.config)
        run = self.client.create_run(
            parent.info.experiment_id,
            run_name=run_name(trial.config),
            tags={
                PARENT_RUN_ID_TAG: self.parent_run_id,
                TRIAL_ID_TAG: trial.trial_id,
                METHOD_TAG: parent.data.tags.get(METHOD_TAG, ""),
            },
        )
        params = trial_params(trial.config, self.template, self.search_params)
        self.client.log_batch(run.info.run_id, params=[Param(k, str(v)) for k, v in params.items()])
        if self.dataset is not None:
            log_dataset(self.client, run.info.run_id, self.dataset, "training")
        self.run_ids[trial.trial_id] = run.info.run_id

    def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
        run_id = self.run_ids.get(trial.trial_id)
        if run_id is None:
            return
        # the epoch, not Tune's iteration count: a continuation's epochs follow its run's
        step = int(result.get("epoch", result.get("training_iteration", 0)))
        if step <= self.logged_epoch.get(trial.trial_id, 0):
            return
        self.logged_epoch[trial.trial_id] = step
        timestamp = int(result.get("timestamp", 0) * 1000)
        metrics = [Metric(key, value, timestamp, step) for key, value in numeric_metrics(result).items()]
        # where the trial ran (a retried trial may move): the node of its latest epoch
        tags = [
            RunTag(key, result[field])
            for key, field in ((NODE_ID_TAG, "node_id"), (WORKER_NODE_IDS_TAG, "worker_node_ids"))
            if field in result
        ]
        # how the trial used its device (precision, data placement, compile decision)
        tags += [
            RunTag(f"{ACCELERATION_TAG_PREFIX}{key}", str(value))
            for key, value in result.get("acceleration", {}).items()
        ]
        self.client.log_batch(run_id, metrics=metrics, tags=tags)

    def on_trial_complete(self, iteration, trials, trial, **info) -> None:
        run_id = self.run_ids.get(trial.trial_id)
        if run_id is None:
            return
        checkpoint = latest_checkpoint(trial.checkpoint, trial.last_result)
        if checkpoint is not None:
            with checkpoint.as_directory() as folder:
                for name in (ARCHITECTURE_FILE, CHECKPOINT_FILE):
                    if (Path(folder) / name).exists():
                        self.client.log_artifact(run_id, str(Path(folder) / name))
        self.client.set_terminated(run_id, "FINISHED")

    def on_trial_error(self, iteration, trials, trial, **info) -> None:
        run_id = self.run_ids.get(trial.trial_id)
        if run_id is not None:
            self.client.set_terminated(run_id, "FAILED")

    def on_experiment_end(self, trials, **info) -> None:
        """Trials stopped with the experiment (e.g. by a spent budget) end as KILLED, not RUNNING."""
        for run_id in self.run_ids.values():
            if self.client.get_run(run_id).info.status == "RUNNING":
                self.client.set_terminated(run_id, "KILLED")


def trial_params(config: dict, template: ArchSpec, search_params: dict[str, Any]) -> dict[str, Any]:
    """A child run's params: ``m1..mS`` one per stage (integers, so MLflow's parallel-coordinates
    and contour charts get a depth axis each), the depths as text, the network's depth, its
    role, iteration and initialisation seed, then the search's settings (``search_params``:
    module, width, criterion, training protocol) with this trial's own epochs."""
    depths, role, iteration = trial_identity(config)
    params: dict[str, Any] = {f"m{stage + 1}": m for stage, m in enumerate(depths)}
    params.update(
        depths=format_depths(depths),
        num_stages=len(depths),
        depth=template.with_depths(depths).depth,
        role=role,
        iteration=iteration,
    )
    params.update(search_params)
    if INIT_SEED_KEY in config:
        params[INIT_SEED_KEY] = params["seed"] = config[INIT_SEED_KEY]
    if EPOCHS_KEY in config:
        params["epochs"] = config[EPOCHS_KEY]
    return params
