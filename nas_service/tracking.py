"""MLflow bookkeeping: one parent run per search, one child run per trial (docs/method.md,
"What is recorded").

Everything is logged from the driver through ``MlflowClient``, so trials need no access to the
tracking store and a local sqlite file works for a local search.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import mlflow.pytorch
import numpy as np
import torch
from mlflow.entities import (
    Dataset,
    DatasetInput,
    InputTag,
    LoggedModelOutput,
    LoggedModelStatus,
    Metric,
    Param,
    Run,
    RunTag,
)
from mlflow.exceptions import MlflowException
from mlflow.models import Model, infer_signature
from mlflow.tracking import MlflowClient
from PIL import Image
from ray.tune import Callback
from ray.tune.result import AUTO_RESULT_KEYS
from ray.tune.utils import flatten_dict

import trainables
from nas_service.config import sqlite_path
from nas_service.core.errors import ConfigError
from nas_service.core.trials import run_name
from nas_service.tune.trial_checkpoint import latest_checkpoint
from trainables.checkpoints import ARCHITECTURE_FILE, CHECKPOINT_FILE
from trainables.spec import ArchSpec, format_depths
from trainables.trial_config import (
    CONTINUES_KEY,
    EPOCHS_KEY,
    EXTRA_EPOCHS_KEY,
    INIT_SEED_KEY,
    trial_identity,
)

# a progress bar per downloaded artifact (a report reads a few small JSON files) is noise here
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

PARENT_RUN_ID_TAG = "mlflow.parentRunId"
METHOD_TAG = "nas.method"
TRIAL_ID_TAG = "nas.trial_id"
FINAL_RUN_ID_TAG = "nas.final_run_id"
CONVERGED_AFTER_TAG = "nas.converged_after_iteration"
CONVERGED_REASON_TAG = "nas.converged_reason"
NODE_ID_TAG = "nas.node_id"
WORKER_NODE_IDS_TAG = "nas.worker_node_ids"  # a data-parallel trial's: every rank's, in rank order
TEST_ACCURACY_SOURCE_TAG = "nas.test_accuracy_source"
BUDGET_SPENT_TAG = "nas.budget_spent"  # the budget stopper ended the search
# the resolved settings of a search, on its parent run: resume and ensembles read them back
SEARCH_CONFIG_ARTIFACT = "search_config.json"
ACCELERATION_TAG_PREFIX = "nas.train."
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"  # which of its two views the MLflow UI opens
DESCRIPTION_TAG = "mlflow.note.content"  # the run page's Description box (markdown)
DATASET_CONTEXT_TAG = "mlflow.data.context"
# a parent run's metrics: the measures of the network the search returns (stage-wise: its found
# network; the baselines: their best by validation accuracy), under the children's names, so
# that the experiment table sorts every method's parent by ``test_accuracy``...
NETWORK_METRICS = ("val_accuracy", "test_accuracy", "params", "macs", "cpu_latency_ms", "depth")
# ...and what the whole search cost, under ``search/`` (a child's ``emissions_kg`` is its own)
SEARCH_METRICS_PREFIX = "search/"
WALL_SECONDS_METRIC = f"{SEARCH_METRICS_PREFIX}wall_seconds"


def git_revision() -> str | None:
    """The commit of the code that ran, when it runs from a git checkout."""
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent, check=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def experiment_id(client: MlflowClient, name: str) -> str:
    """The id of experiment ``name``, created when missing as a model-training experiment (the
    MLflow 3 UI then opens it on its runs table, not on its GenAI traces overview) that keeps
    its artifacts where ``artifact_location`` says."""
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    return client.create_experiment(name, artifact_location=artifact_location(client.tracking_uri, name),
                                    tags={EXPERIMENT_KIND_TAG: "custom_model_development"})


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
        raise ConfigError(f"--experiment {name!r}: deleted in MLflow; restore it with `mlflow "
                          f"experiments restore --experiment-id {experiment.experiment_id}`, or "
                          "give another --experiment")


def check_name_unused(client: MlflowClient, experiment: str, name: str) -> None:
    """A search's name is unique in its experiment, whatever its storage path: two parent runs
    of one name would make ``report``, ``audit --from-search`` and ``--resume`` ambiguous."""
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return
    named = client.search_runs([found.experiment_id], f"attributes.run_name = '{name}'")
    parents = [run for run in named
               if PARENT_RUN_ID_TAG not in run.data.tags and METHOD_TAG in run.data.tags]
    if parents:
        first = parents[-1]
        where = first.data.params.get("storage_path")
        raise ConfigError(f"--name {name!r}: experiment {experiment!r} already holds a search of "
                          f"that name (MLflow run {first.info.run_id}"
                          f"{f', Tune folder {where}/{name}' if where else ''}); choose another "
                          "--name, or continue that one with --resume")


def start_parent_run(client: MlflowClient, experiment: str, name: str, method: str,
                     params: dict[str, Any]) -> str:
    """Create the search's parent run with its resolved settings as params; returns its id."""
    tags = {METHOD_TAG: method}
    revision = git_revision()
    if revision:
        tags["mlflow.source.git.commit"] = revision
    run = client.create_run(experiment_id(client, experiment), run_name=name, tags=tags)
    client.log_batch(run.info.run_id, params=[Param(k, str(v)) for k, v in params.items()])
    return run.info.run_id


def numeric_metrics(result: dict) -> dict[str, float]:
    """The trainable's numeric measures in a Tune result, flattened (``importance/s1``)."""
    flat = flatten_dict({k: v for k, v in result.items() if k not in AUTO_RESULT_KEYS})
    return {key: float(value) for key, value in flat.items()
            if isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value)}


class MLflowTrialCallback(Callback):
    """A child run per trial, nested under the parent; per-epoch metrics, artifacts at the end."""

    def __init__(self, tracking_uri: str, parent_run_id: str, template: ArchSpec,
                 search_params: dict[str, Any], dataset: Dataset | None = None) -> None:
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
            self.client.log_param(self.run_ids[continues], "final_epochs",
                                  trial.config[EXTRA_EPOCHS_KEY])
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
            parent.info.experiment_id, run_name=run_name(trial.config),
            tags={PARENT_RUN_ID_TAG: self.parent_run_id, TRIAL_ID_TAG: trial.trial_id,
                  METHOD_TAG: parent.data.tags.get(METHOD_TAG, "")})
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
        metrics = [Metric(key, value, timestamp, step)
                   for key, value in numeric_metrics(result).items()]
        # where the trial ran (a retried trial may move): the node of its latest epoch
        tags = [RunTag(key, result[field]) for key, field in
                ((NODE_ID_TAG, "node_id"), (WORKER_NODE_IDS_TAG, "worker_node_ids")) if field in result]
        # how the trial used its device (precision, data placement, compile decision)
        tags += [RunTag(f"{ACCELERATION_TAG_PREFIX}{key}", str(value))
                 for key, value in result.get("acceleration", {}).items()]
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


def trial_params(config: dict, template: ArchSpec, search_params: dict[str, Any]
                 ) -> dict[str, Any]:
    """A child run's params: ``m1..mS`` one per stage (integers, so MLflow's parallel-coordinates
    and contour charts get a depth axis each), the depths as text, the network's depth, its
    role, iteration and initialisation seed, then the search's settings (``search_params``:
    module, width, criterion, training protocol) with this trial's own epochs."""
    depths, role, iteration = trial_identity(config)
    params: dict[str, Any] = {f"m{stage + 1}": m for stage, m in enumerate(depths)}
    params.update(depths=format_depths(depths), num_stages=len(depths),
                  depth=template.with_depths(depths).depth, role=role, iteration=iteration)
    params.update(search_params)
    if INIT_SEED_KEY in config:
        params[INIT_SEED_KEY] = params["seed"] = config[INIT_SEED_KEY]
    if EPOCHS_KEY in config:
        params["epochs"] = config[EPOCHS_KEY]
    return params


# MLflow's SQL store looks a dataset up and inserts it when missing in two steps: two searches of
# one driver logging the same new data set at once (``nas_service.tune.at_once``) would both insert
# it, and the second fails its unique constraint
_logging_inputs = threading.Lock()


def log_dataset(client: MlflowClient, run_id: str, dataset: Dataset, context: str) -> None:
    """``dataset`` as an input of run ``run_id``, with the context MLflow's UI shows beside it."""
    with _logging_inputs:
        client.log_inputs(run_id, [DatasetInput(dataset, tags=[InputTag(DATASET_CONTEXT_TAG,
                                                                         context)])])


def log_found_model(client: MlflowClient, run_id: str, model: torch.nn.Module, spec: ArchSpec,
                    also_output_of: tuple[str, ...] = ()) -> str:
    """Log ``model`` as an MLflow logged model of the run that trained it, and as an output of
    that run and of ``also_output_of`` (the search's parent run); returns ``models:/<id>``.

    What ``mlflow.pytorch.log_model`` does, through ``client``: the model is listed on the runs'
    "Logged models", in ``search_logged_models`` and carries the run's final measures, and no
    process-wide MLflow state (tracking URI, active run) is touched.  ``runs:/<run_id>/model``
    loads it too."""
    run = client.get_run(run_id)
    logged = client.create_logged_model(
        run.info.experiment_id, name="model", source_run_id=run_id, model_type="pytorch",
        params={"depths": spec.depths_text, "module": spec.module,
                "widths": format_depths(spec.widths), "num_classes": str(spec.num_classes)})
    description = Model(artifact_path=logged.artifact_location, run_id=run_id,
                        model_uuid=logged.model_id, model_id=logged.model_id)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model"
        save_pytorch_model(model, spec, path, description)
        client.log_model_artifacts(logged.model_id, str(path))
    client.finalize_logged_model(logged.model_id, LoggedModelStatus.READY)
    for output_of in (run_id, *also_output_of):
        client.log_outputs(output_of, [LoggedModelOutput(logged.model_id, step=0)])
    _link_final_metrics(client, run, logged.model_id)
    return f"models:/{logged.model_id}"


def save_pytorch_model(model: torch.nn.Module, spec: ArchSpec, path: Path,
                       description: Model | None = None) -> None:
    """``model`` as an MLflow PyTorch model folder that loads without this package installed.

    The module is pickled (it then takes any batch size; ``pt2`` would fix the example's), with
    a signature and an input example of one image, the ``trainables`` source that defines its
    classes as the model's code, and its requirements named: inferring them runs the model in a
    subprocess for about 9 s."""
    example = np.zeros((1, spec.in_channels, spec.image_size, spec.image_size), np.float32)
    with torch.no_grad():
        logits = model(torch.from_numpy(example)).numpy()
    logging.getLogger("mlflow.pytorch").setLevel(logging.ERROR)  # its pickle warning: chosen
    with tempfile.TemporaryDirectory() as folder:
        code = Path(folder) / "trainables"
        shutil.copytree(Path(trainables.__file__).parent, code,
                        ignore=shutil.ignore_patterns("__pycache__"))
        mlflow.pytorch.save_model(
            model, str(path), mlflow_model=description, signature=infer_signature(example, logits),
            input_example=example, serialization_format="pickle", code_paths=[str(code)],
            pip_requirements=[f"torch=={torch.__version__.split('+')[0]}",
                              f"numpy=={np.__version__}"])


def run_logged_model(client: MlflowClient, run_id: str) -> str | None:
    """``models:/<id>`` of the newest model ``log_found_model`` logged from ``run_id``."""
    experiment = client.get_run(run_id).info.experiment_id
    models = client.search_logged_models([experiment], filter_string=f"source_run_id = '{run_id}'",
                                         order_by=[{"field_name": "creation_time",
                                                    "ascending": False}], max_results=1)
    return f"models:/{models[0].model_id}" if models else None


def _link_final_metrics(client: MlflowClient, run: Run, model_id: str) -> None:
    """The run's last value of each ``NETWORK_METRICS`` measure, also as the model's metric (as
    ``mlflow.pytorch.log_model`` does: the same points, now naming the model)."""
    metrics = []
    for key in NETWORK_METRICS:
        history = client.get_metric_history(run.info.run_id, key)
        if history:
            last = max(history, key=lambda metric: (metric.step, metric.timestamp))
            metrics.append(Metric(key, last.value, last.timestamp, last.step, model_id=model_id))
    client.log_batch(run.info.run_id, metrics=metrics)


def log_search_outcome(client: MlflowClient, parent_run_id: str,
                       network: dict[str, Any] | None, spent: dict[str, float],
                       networks_trained: int) -> None:
    """The parent run's metrics: the measures of the network the search returns
    (``NETWORK_METRICS``; none when it trained none) and what it spent (``search/...``); and
    the same in words as its description (a stage-wise search's report replaces it)."""
    values = {key: (network or {}).get(key) for key in NETWORK_METRICS}
    values.update({f"{SEARCH_METRICS_PREFIX}networks_trained": networks_trained,
                   f"{SEARCH_METRICS_PREFIX}images": spent.get("images"),
                   f"{SEARCH_METRICS_PREFIX}gpu_hours": spent.get("gpu_hours"),
                   f"{SEARCH_METRICS_PREFIX}kgco2eq": spent.get("emissions_kg")})
    log_numbers(client, parent_run_id, values)
    set_description(client, parent_run_id, outcome_markdown(network, spent, networks_trained))


def outcome_markdown(network: dict[str, Any] | None, spent: dict[str, float],
                     networks_trained: int) -> str:
    """One paragraph: the network returned and what the search spent."""
    cost = (f"{networks_trained} network(s) trained on {spent.get('images', 0):,.0f} images in "
            f"all, {spent.get('emissions_kg', 0):.3g} kgCO2eq.")
    if not network:
        return f"No network was returned. {cost}"

    def percent(key: str) -> str:
        value = network.get(key)
        return f"{100 * value:.2f}%" if isinstance(value, (int, float)) and math.isfinite(value) \
            else "n/a"

    where = f" (run `{network['run_name']}`)" if network.get("run_name") else ""
    return (f"**Returned network: `{network.get('depths', '?')}`**{where}: validation accuracy "
            f"{percent('val_accuracy')}, test accuracy {percent('test_accuracy')}, "
            f"{(network.get('params') or 0) / 1e6:.3f} M params, "
            f"{(network.get('macs') or 0) / 1e6:.1f} M MACs. {cost}")


def log_numbers(client: MlflowClient, run_id: str, values: dict[str, Any]) -> None:
    """The finite numbers of ``values`` as metrics of ``run_id`` (missing measures are skipped,
    not logged as NaN, which MLflow's table would sort first)."""
    now = int(time.time() * 1000)
    metrics = [Metric(key, float(value), now, 0) for key, value in values.items()
               if isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
               and math.isfinite(float(value))]
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
        values = {"importance_A": step["importance_A"], "importance_T": step["importance_T"],
                  "confidence": step["confidence"] or [], "grows": map(float, step["grows"])}
        metrics += [Metric(f"{name}/s{stage + 1}", float(value), 0, step["iteration"])
                    for name, per_stage in values.items() for stage, value in enumerate(per_stage)]
    tags = []
    if record.get("converged"):
        tags = [RunTag(CONVERGED_AFTER_TAG, str(record["converged"]["after_iteration"])),
                RunTag(CONVERGED_REASON_TAG, record["converged"]["reason"])]
    client.log_batch(parent_run_id, metrics=metrics, tags=tags)


def find_parent_run(client: MlflowClient, experiment: str, method: str,
                    name: str | None = None) -> Run | None:
    """The newest parent run of ``method`` in ``experiment`` (called ``name``, if given)."""
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return None
    runs = client.search_runs([found.experiment_id], f"tags.`{METHOD_TAG}` = '{method}'",
                              order_by=["attributes.start_time DESC"])
    return next((run for run in runs if PARENT_RUN_ID_TAG not in run.data.tags
                 and (name is None or run.info.run_name == name)), None)


def child_runs(client: MlflowClient, parent: Run | str, condition: str = "") -> list[Run]:
    """The child runs of a search's parent run (a ``Run`` or its id), optionally only those
    that meet an MLflow filter ``condition`` too (``"attributes.status = 'FINISHED'"``)."""
    if isinstance(parent, str):
        parent = client.get_run(parent)
    query = f"tags.`{PARENT_RUN_ID_TAG}` = '{parent.info.run_id}'"
    return client.search_runs([parent.info.experiment_id],
                              f"{query} and {condition}" if condition else query)


def trial_runs(client: MlflowClient, parent_run_id: str) -> dict[str, Run]:
    """trial id -> the MLflow child run of ``parent_run_id`` that trial logs to."""
    return {run.data.tags[TRIAL_ID_TAG]: run for run in child_runs(client, parent_run_id)
            if TRIAL_ID_TAG in run.data.tags}


def mark_budget_spent(tracking_uri: str, parent_run_id: str) -> None:
    MlflowClient(tracking_uri).set_tag(parent_run_id, BUDGET_SPENT_TAG, "true")


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
        raise ConfigError(f"{flag} {run_id}: that is the run of one candidate "
                          f"({run.info.run_name}); its search's parent run is {parent}")
    if METHOD_TAG not in run.data.tags:
        raise ConfigError(f"{flag} {run_id}: not the parent run of a search (it has no "
                          f"{METHOD_TAG} tag)")


def trained_network_run(client: MlflowClient, run_id: str) -> str:
    """The run holding a trained network: a candidate's run itself, or for a search's parent run
    the child of its found architecture (tag ``nas.final_run_id``)."""
    run = existing_run(client, run_id)
    if PARENT_RUN_ID_TAG in run.data.tags:
        if run.info.status != "FINISHED":
            raise ConfigError(f"--run-id {run_id}: {run.info.run_name} has not finished training "
                              f"(status {run.info.status}); give it once it has, or a finished "
                              "candidate")
        return run_id
    _check_search_parent(run, "--run-id")
    if FINAL_RUN_ID_TAG not in run.data.tags:
        raise ConfigError(f"--run-id {run_id}: this search has no found network (it did not "
                          "finish); give one of its candidates' runs")
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


def log_json_artifact(client: MlflowClient, run_id: str, filename: str, data: Any) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / filename
        path.write_text(json.dumps(data, indent=2))
        client.log_artifact(run_id, str(path))
