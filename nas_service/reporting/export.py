"""A trained candidate as a file that runs elsewhere.

``--run-id`` is a candidate's MLflow run, or a search's parent run (its found architecture).
Formats:

* ``torchscript``: one ``.pt`` file; ``torch.jit.load`` runs it without this package (traced on
  one image; any batch size works).  TorchScript is deprecated in recent torch but still the
  format most runtimes (C++ libtorch, older serving stacks) read.
* ``pt2``: ``torch.export`` program with a dynamic batch dimension; ``torch.export.load`` runs it
  without this package.  The modern replacement of TorchScript.
* ``state_dict``: a folder with ``architecture.json`` and ``state_dict.pt``; rebuild with this
  package: ``build_model(ArchSpec.from_dict(...)).load_state_dict(torch.load(...))``.
* ``mlflow``: an MLflow pytorch model folder (pickled module; loading needs this package).

``--register NAME`` also registers the candidate in the MLflow model registry (logging its
``model`` artifact first when the run has none).
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import mlflow.pytorch
import torch
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from nas_service.config import require_existing_store
from nas_service.core.errors import ConfigError
from nas_service.reporting.export_formats import SUFFIXES, writable_output
from nas_service.tracking import downloaded_checkpoint, log_pytorch_model, trained_network_run
from trainables.checkpoints import ARCHITECTURE_FILE, load_trained_model

logger = logging.getLogger(__name__)


def export(run_id: str, fmt: str, output: str | None, tracking_uri: str,
           register: str | None = None) -> Path:
    """Write the candidate of ``run_id`` in ``fmt``; returns the path written."""
    path = writable_output(Path(output or f"{run_id}{SUFFIXES[fmt]}"), fmt)
    require_existing_store(tracking_uri)
    client = MlflowClient(tracking_uri)
    try:
        run_id = trained_network_run(client, run_id)  # a parent: its found network
        with downloaded_checkpoint(client, run_id) as folder:
            spec, model = load_trained_model(folder)
    except MlflowException as error:
        raise ConfigError(f"--run-id {run_id}: {error.message}") from None
    example = torch.zeros(1, spec.in_channels, spec.image_size, spec.image_size)
    if fmt == "torchscript":
        with warnings.catch_warnings():  # "deprecated": known, and said in the docstring
            warnings.simplefilter("ignore", FutureWarning)
            torch.jit.trace(model, example).save(str(path))
    elif fmt == "pt2":
        batch = torch.export.Dim("batch", min=1)
        program = torch.export.export(model, (torch.zeros(2, *example.shape[1:]),),
                                      dynamic_shapes=({0: batch},))
        torch.export.save(program, str(path))
    elif fmt == "state_dict":
        path.mkdir(parents=True, exist_ok=True)
        (path / ARCHITECTURE_FILE).write_text(spec.to_json())
        torch.save(model.state_dict(), path / "state_dict.pt")
    else:
        mlflow.pytorch.save_model(model, str(path), serialization_format="pickle")
    if register:
        if not any(a.path == "model" for a in client.list_artifacts(run_id)):
            log_pytorch_model(client, run_id, model, spec)
        registered = {m.name for m in client.search_registered_models()}
        if register not in registered:
            client.create_registered_model(register)
        version = client.create_model_version(register, f"runs:/{run_id}/model", run_id=run_id)
        logger.info(f"registered {register} version {version.version}")
    logger.info(f"{spec.depths_text} ({fmt}) -> {path}")
    return path
