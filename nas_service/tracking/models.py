"""Trained networks as MLflow logged models: listed on their runs' "Logged models", loadable with
``mlflow.pytorch.load_model`` without this package installed."""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

import mlflow.pytorch
import numpy as np
import torch
from mlflow.entities import (
    LoggedModelOutput,
    LoggedModelStatus,
    Metric,
    Run,
)
from mlflow.models import Model, infer_signature
from mlflow.tracking import MlflowClient

import trainables
from nas_service.tracking.tags import NETWORK_METRICS
from trainables.spec import ArchSpec, format_depths


def log_found_model(
    client: MlflowClient,
    run_id: str,
    model: torch.nn.Module,
    spec: ArchSpec,
    also_output_of: tuple[str, ...] = (),
) -> str:
    """Log ``model`` as an MLflow logged model of the run that trained it, and as an output of
    that run and of ``also_output_of`` (the search's parent run); returns ``models:/<id>``.

    What ``mlflow.pytorch.log_model`` does, through ``client``: the model is listed on the runs'
    "Logged models", in ``search_logged_models`` and carries the run's final measures, and no
    process-wide MLflow state (tracking URI, active run) is touched.  ``runs:/<run_id>/model``
    loads it too."""
    run = client.get_run(run_id)
    logged = client.create_logged_model(
        run.info.experiment_id,
        name="model",
        source_run_id=run_id,
        model_type="pytorch",
        params={
            "depths": spec.depths_text,
            "module": spec.module,
            "widths": format_depths(spec.widths),
            "num_classes": str(spec.num_classes),
        },
    )
    description = Model(
        artifact_path=logged.artifact_location,
        run_id=run_id,
        model_uuid=logged.model_id,
        model_id=logged.model_id,
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model"
        save_pytorch_model(model, spec, path, description)
        client.log_model_artifacts(logged.model_id, str(path))
    client.finalize_logged_model(logged.model_id, LoggedModelStatus.READY)
    for output_of in (run_id, *also_output_of):
        client.log_outputs(output_of, [LoggedModelOutput(logged.model_id, step=0)])
    _link_final_metrics(client, run, logged.model_id)
    return f"models:/{logged.model_id}"


def save_pytorch_model(
    model: torch.nn.Module, spec: ArchSpec, path: Path, description: Model | None = None
) -> None:
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
        shutil.copytree(Path(trainables.__file__).parent, code, ignore=shutil.ignore_patterns("__pycache__"))
        mlflow.pytorch.save_model(
            model,
            str(path),
            mlflow_model=description,
            signature=infer_signature(example, logits),
            input_example=example,
            serialization_format="pickle",
            code_paths=[str(code)],
            pip_requirements=[f"torch=={torch.__version__.split('+')[0]}", f"numpy=={np.__version__}"],
        )


def run_logged_model(client: MlflowClient, run_id: str) -> str | None:
    """``models:/<id>`` of the newest model ``log_found_model`` logged from ``run_id``."""
    experiment = client.get_run(run_id).info.experiment_id
    models = client.search_logged_models(
        [experiment],
        filter_string=f"source_run_id = '{run_id}'",
        order_by=[{"field_name": "creation_time", "ascending": False}],
        max_results=1,
    )
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
