"""What the driver writes into MLflow around a search: its experiment and parent run (created
once, checked first), the data set as an input, the decisions, the outcome and the plots.

Everything is logged from the driver through ``MlflowClient``, so trials need no access to the
tracking store and a local sqlite file works for a local search.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from mlflow.entities import (
    Dataset,
    DatasetInput,
    InputTag,
    Metric,
    Param,
    RunTag,
)
from mlflow.tracking import MlflowClient
from PIL import Image

from nas_service import SEARCH_STATE_FORMAT, __version__
from nas_service.core.errors import ConfigError
from nas_service.preflight import sqlite_path
from nas_service.tracking.tags import (
    BUDGET_SPENT_TAG,
    CONVERGED_AFTER_TAG,
    CONVERGED_REASON_TAG,
    DATASET_CONTEXT_TAG,
    DESCRIPTION_TAG,
    EXPERIMENT_KIND_TAG,
    METHOD_TAG,
    NETWORK_METRICS,
    PARENT_RUN_ID_TAG,
    SEARCH_METRICS_PREFIX,
    STATE_FORMAT_TAG,
    VERSION_TAG,
)


def git_revision() -> str | None:
    """The commit of the code that ran, when it runs from a git checkout."""
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parent,
            check=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def experiment_id(client: MlflowClient, name: str) -> str:
    """The id of experiment ``name``, created when missing as a model-training experiment (the
    MLflow 3 UI then opens it on its runs table, not on its GenAI traces overview) that keeps
    its artifacts where ``artifact_location`` says."""
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    return client.create_experiment(
        name,
        artifact_location=artifact_location(client.tracking_uri, name),
        tags={EXPERIMENT_KIND_TAG: "custom_model_development"},
    )


def artifact_location(tracking_uri: str, experiment: str) -> str | None:
    """Where a new experiment of a sqlite store keeps its artifacts: ``mlruns/<experiment>``
    beside the database file, so that the database and its artifacts stay one folder wherever
    the search was started.  MLflow's own default is ``./mlruns`` in the working directory of
    whoever created the experiment: another folder for every place a search starts from, and
    under ``ray job submit --working-dir`` Ray's temporary copy of the job's files.  ``None``
    (the store's own default) for servers, which choose with ``--default-artifact-root``, and
    for every other store."""
    if not tracking_uri.startswith("sqlite:///") or tracking_uri.endswith(":memory:"):
        return None
    folder = sqlite_path(tracking_uri).expanduser().resolve().parent
    return str(folder / "mlruns" / re.sub(r"[^A-Za-z0-9._-]+", "_", experiment))


def check_experiment_open(client: MlflowClient, name: str) -> None:
    """MLflow refuses runs in an experiment deleted in the UI (it keeps it, ``deleted``, until
    garbage collection): a ``ConfigError`` saying how to restore it, before any training."""
    experiment = client.get_experiment_by_name(name)
    if experiment is not None and experiment.lifecycle_stage == "deleted":
        raise ConfigError(
            f"--experiment {name!r}: deleted in MLflow; restore it with `mlflow "
            f"experiments restore --experiment-id {experiment.experiment_id}`, or "
            "give another --experiment"
        )


def check_name_unused(client: MlflowClient, experiment: str, name: str) -> None:
    """A search's name is unique in its experiment, whatever its storage path: two parent runs
    of one name would make ``report``, ``audit --from-search`` and ``--resume`` ambiguous."""
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return
    named = client.search_runs([found.experiment_id], f"attributes.run_name = '{name}'")
    parents = [run for run in named if PARENT_RUN_ID_TAG not in run.data.tags and METHOD_TAG in run.data.tags]
    if parents:
        first = parents[-1]
        where = first.data.params.get("storage_path")
        raise ConfigError(
            f"--name {name!r}: experiment {experiment!r} already holds a search of "
            f"that name (MLflow run {first.info.run_id}"
            f"{f', Tune folder {where}/{name}' if where else ''}); choose another "
            "--name, or continue that one with --resume"
        )


def start_parent_run(
    client: MlflowClient, experiment: str, name: str, method: str, params: dict[str, Any]
) -> str:
    """Create the search's parent run with its resolved settings as params; returns its id."""
    tags = {METHOD_TAG: method, VERSION_TAG: __version__, STATE_FORMAT_TAG: str(SEARCH_STATE_FORMAT)}
    revision = git_revision()
    if revision:
        tags["mlflow.source.git.commit"] = revision
    run = client.create_run(experiment_id(client, experiment), run_name=name, tags=tags)
    client.log_batch(run.info.run_id, params=[Param(k, str(v)) for k, v in params.items()])
    return run.info.run_id


# MLflow's SQL store looks a dataset up and inserts it when missing in two steps: two searches of
# one driver logging the same new data set at once (``nas_service.tune.at_once``) would both insert
# it, and the second fails its unique constraint
_logging_inputs = threading.Lock()


def log_dataset(client: MlflowClient, run_id: str, dataset: Dataset, context: str) -> None:
    """``dataset`` as an input of run ``run_id``, with the context MLflow's UI shows beside it."""
    with _logging_inputs:
        client.log_inputs(run_id, [DatasetInput(dataset, tags=[InputTag(DATASET_CONTEXT_TAG, context)])])


def log_search_outcome(
    client: MlflowClient,
    parent_run_id: str,
    network: dict[str, Any] | None,
    spent: dict[str, float],
    networks_trained: int,
) -> None:
    """The parent run's metrics: the measures of the network the search returns
    (``NETWORK_METRICS``; none when it trained none) and what it spent (``search/...``); and
    the same in words as its description (a stage-wise search's report replaces it)."""
    values = {key: (network or {}).get(key) for key in NETWORK_METRICS}
    values.update(
        {
            f"{SEARCH_METRICS_PREFIX}networks_trained": networks_trained,
            f"{SEARCH_METRICS_PREFIX}images": spent.get("images"),
            f"{SEARCH_METRICS_PREFIX}gpu_hours": spent.get("gpu_hours"),
            f"{SEARCH_METRICS_PREFIX}kgco2eq": spent.get("emissions_kg"),
        }
    )
    log_numbers(client, parent_run_id, values)
    set_description(client, parent_run_id, outcome_markdown(network, spent, networks_trained))


def outcome_markdown(network: dict[str, Any] | None, spent: dict[str, float], networks_trained: int) -> str:
    """One paragraph: the network returned and what the search spent."""
    cost = (
        f"{networks_trained} network(s) trained on {spent.get('images', 0):,.0f} images in "
        f"all, {spent.get('emissions_kg', 0):.3g} kgCO2eq."
    )
    if not network:
        return f"No network was returned. {cost}"

    def percent(key: str) -> str:
        value = network.get(key)
        return f"{100 * value:.2f}%" if isinstance(value, (int, float)) and math.isfinite(value) else "n/a"

    where = f" (run `{network['run_name']}`)" if network.get("run_name") else ""
    return (
        f"**Returned network: `{network.get('depths', '?')}`**{where}: validation accuracy "
        f"{percent('val_accuracy')}, test accuracy {percent('test_accuracy')}, "
        f"{(network.get('params') or 0) / 1e6:.3f} M params, "
        f"{(network.get('macs') or 0) / 1e6:.1f} M MACs. {cost}"
    )


def log_numbers(client: MlflowClient, run_id: str, values: dict[str, Any]) -> None:
    """The finite numbers of ``values`` as metrics of ``run_id`` (missing measures are skipped,
    not logged as NaN, which MLflow's table would sort first)."""
    now = int(time.time() * 1000)
    metrics = [
        Metric(key, float(value), now, 0)
        for key, value in values.items()
        if isinstance(value, (int, float, np.number))
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    ]
    client.log_batch(run_id, metrics=metrics)


def set_description(client: MlflowClient, run_id: str, markdown: str) -> None:
    """The run page's Description (markdown)."""
    client.set_tag(run_id, DESCRIPTION_TAG, markdown)


def log_plot_images(client: MlflowClient, run_id: str, paths: list[Path]) -> None:
    """PNG plots as the run's images (``key`` = file name without suffix): MLflow's chart view
    shows them beside the metrics, where artifacts are only listed."""
    for path in paths:
        with Image.open(path) as image:
            client.log_image(run_id, image.convert("RGB"), key=path.stem, step=0)


def log_decisions(client: MlflowClient, parent_run_id: str, record: dict) -> None:
    """Each iteration's stage scores and confidences as parent metrics, stepped by iteration
    (``importance_A/s1``, ``importance_T/s1``, ``confidence/s1``, ``grows/s1``), and how the search
    ended as tags: MLflow's charts then show the decisions of a search over its iterations."""
    metrics = []
    for step in record["iterations"]:
        values = {
            "importance_A": step["importance_A"],
            "importance_T": step["importance_T"],
            "confidence": step["confidence"] or [],
            "grows": map(float, step["grows"]),
        }
        metrics += [
            Metric(f"{name}/s{stage + 1}", float(value), 0, step["iteration"])
            for name, per_stage in values.items()
            for stage, value in enumerate(per_stage)
        ]
    tags = []
    if record.get("converged"):
        tags = [
            RunTag(CONVERGED_AFTER_TAG, str(record["converged"]["after_iteration"])),
            RunTag(CONVERGED_REASON_TAG, record["converged"]["reason"]),
        ]
    client.log_batch(parent_run_id, metrics=metrics, tags=tags)


def mark_budget_spent(tracking_uri: str, parent_run_id: str) -> None:
    MlflowClient(tracking_uri).set_tag(parent_run_id, BUDGET_SPENT_TAG, "true")


def log_json_artifact(client: MlflowClient, run_id: str, filename: str, data: Any) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / filename
        path.write_text(json.dumps(data, indent=2))
        client.log_artifact(run_id, str(path))
