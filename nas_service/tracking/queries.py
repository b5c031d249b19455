"""Reading a search back from MLflow: its parent run by name, its children, the network a run
holds and JSON artifacts; a run id that names the wrong kind of run is a ``ConfigError`` saying what
it is."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mlflow.entities import (
    Run,
)
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from nas_service.core.errors import ConfigError
from nas_service.tracking.tags import (
    BUDGET_SPENT_TAG,
    FINAL_RUN_ID_TAG,
    METHOD_TAG,
    PARENT_RUN_ID_TAG,
    TRIAL_ID_TAG,
)
from trainables.checkpoints import ARCHITECTURE_FILE, CHECKPOINT_FILE

# a progress bar per downloaded artifact (a report reads a few small JSON files) is noise here
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


def find_parent_run(
    client: MlflowClient, experiment: str, method: str, name: str | None = None
) -> Run | None:
    """The newest parent run of ``method`` in ``experiment`` (called ``name``, if given)."""
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return None
    runs = client.search_runs(
        [found.experiment_id], f"tags.`{METHOD_TAG}` = '{method}'", order_by=["attributes.start_time DESC"]
    )
    return next(
        (
            run
            for run in runs
            if PARENT_RUN_ID_TAG not in run.data.tags and (name is None or run.info.run_name == name)
        ),
        None,
    )


def child_runs(client: MlflowClient, parent: Run | str, condition: str = "") -> list[Run]:
    """The child runs of a search's parent run (a ``Run`` or its id), optionally only those
    that meet an MLflow filter ``condition`` too (``"attributes.status = 'FINISHED'"``)."""
    if isinstance(parent, str):
        parent = client.get_run(parent)
    query = f"tags.`{PARENT_RUN_ID_TAG}` = '{parent.info.run_id}'"
    return client.search_runs([parent.info.experiment_id], f"{query} and {condition}" if condition else query)


def trial_runs(client: MlflowClient, parent_run_id: str) -> dict[str, Run]:
    """trial id -> the MLflow child run of ``parent_run_id`` that trial logs to."""
    return {
        run.data.tags[TRIAL_ID_TAG]: run
        for run in child_runs(client, parent_run_id)
        if TRIAL_ID_TAG in run.data.tags
    }


def child_run_ids(client: MlflowClient, parent_run_id: str) -> dict[str, str]:
    """trial id -> MLflow run id of the parent's children."""
    return {trial_id: run.info.run_id for trial_id, run in trial_runs(client, parent_run_id).items()}


def budget_was_spent(client: MlflowClient, parent_run_id: str) -> bool:
    return client.get_run(parent_run_id).data.tags.get(BUDGET_SPENT_TAG) == "true"


def last_trial_measures(tracking_uri: str, parent_run_id: str) -> dict[str, dict[str, float]]:
    """trial id -> the last value of every metric its child run of ``parent_run_id`` logged."""
    runs = trial_runs(MlflowClient(tracking_uri), parent_run_id)
    return {trial_id: dict(run.data.metrics) for trial_id, run in runs.items()}


def existing_run(client: MlflowClient, run_id: str, flag: str = "--run-id") -> Run:
    """The run ``run_id``; a ``ConfigError`` naming it when the store has none."""
    try:
        return client.get_run(run_id)
    except MlflowException:
        raise ConfigError(f"{flag} {run_id!r}: no such MLflow run in this store") from None


def search_parent_run(client: MlflowClient, run_id: str, flag: str = "--run-id") -> Run:
    """The parent run of a search; a candidate's run or a run of something else is a
    ``ConfigError`` that says what it is (and, for a candidate, which parent to give)."""
    run = existing_run(client, run_id, flag)
    _check_search_parent(run, flag)
    return run


def _check_search_parent(run: Run, flag: str) -> None:
    run_id, parent = run.info.run_id, run.data.tags.get(PARENT_RUN_ID_TAG)
    if parent:
        raise ConfigError(
            f"{flag} {run_id}: that is the run of one candidate "
            f"({run.info.run_name}); its search's parent run is {parent}"
        )
    if METHOD_TAG not in run.data.tags:
        raise ConfigError(f"{flag} {run_id}: not the parent run of a search (it has no {METHOD_TAG} tag)")


def trained_network_run(client: MlflowClient, run_id: str) -> str:
    """The run holding a trained network: a candidate's run itself, or for a search's parent run
    the child of its found architecture (tag ``nas.final_run_id``)."""
    run = existing_run(client, run_id)
    if PARENT_RUN_ID_TAG in run.data.tags:
        if run.info.status != "FINISHED":
            raise ConfigError(
                f"--run-id {run_id}: {run.info.run_name} has not finished training "
                f"(status {run.info.status}); give it once it has, or a finished "
                "candidate"
            )
        return run_id
    _check_search_parent(run, "--run-id")
    if FINAL_RUN_ID_TAG not in run.data.tags:
        raise ConfigError(
            f"--run-id {run_id}: this search has no found network (it did not "
            "finish); give one of its candidates' runs"
        )
    return run.data.tags[FINAL_RUN_ID_TAG]


@contextmanager
def downloaded_checkpoint(client: MlflowClient, run_id: str) -> Iterator[str]:
    """A temporary folder holding a candidate run's ``architecture.json`` and ``checkpoint.pt``
    (what ``trainables.checkpoints`` reads)."""
    with tempfile.TemporaryDirectory() as folder:
        for name in (ARCHITECTURE_FILE, CHECKPOINT_FILE):
            client.download_artifacts(run_id, name, folder)
        yield folder


def read_json_artifact(client: MlflowClient, run_id: str, filename: str) -> Any:
    with tempfile.TemporaryDirectory() as folder:
        return json.loads(Path(client.download_artifacts(run_id, filename, folder)).read_text())
