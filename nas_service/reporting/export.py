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
* ``mlflow``: an MLflow pytorch model folder (pickled module with the ``trainables`` source as
  its code: ``mlflow.pytorch.load_model`` loads it without this package installed).

``--register NAME`` also registers the candidate's logged model (logging it first when the run
has none: a candidate other than a search's found network) in the MLflow model registry as a new
version, and points the alias ``--alias`` (``champion`` by default) at that version:
``mlflow.pytorch.load_model("models:/NAME@champion")`` loads it.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import torch
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from nas_service.core.errors import ConfigError
from nas_service.preflight import require_existing_store
from nas_service.reporting.export_formats import DEFAULT_ALIAS, SUFFIXES, writable_output
from nas_service.tracking.models import log_found_model, run_logged_model, save_pytorch_model
from nas_service.tracking.queries import downloaded_checkpoint, trained_network_run
from trainables.checkpoints import ARCHITECTURE_FILE, load_trained_model

logger = logging.getLogger(__name__)


def export(
    run_id: str,
    fmt: str,
    output: str | None,
    tracking_uri: str,
    register: str | None = None,
    alias: str = DEFAULT_ALIAS,
) -> Path:
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
        program = torch.export.export(
            model, (torch.zeros(2, *example.shape[1:]),), dynamic_shapes=({0: batch},)
        )
        torch.export.save(program, str(path))
    elif fmt == "state_dict":
        path.mkdir(parents=True, exist_ok=True)
        (path / ARCHITECTURE_FILE).write_text(spec.to_json())
        torch.save(model.state_dict(), path / "state_dict.pt")
    else:
        save_pytorch_model(model, spec, path)
    if register:
        register_model(client, run_id, model, spec, register, alias)
    logger.info(f"{spec.depths_text} ({fmt}) -> {path}")
    return path


def register_model(
    client: MlflowClient, run_id: str, model: torch.nn.Module, spec, name: str, alias: str
) -> str:
    """A new version of registered model ``name`` from the run's logged model, with ``alias``
    moved to it; returns the version."""
    model_uri = run_logged_model(client, run_id) or log_found_model(client, run_id, model, spec)
    if not client.search_registered_models(f"name = '{name}'"):
        client.create_registered_model(name, description="networks found by stagewise-nas")
    model_id = model_uri.removeprefix("models:/")
    # the model's artifact location, not its models:/ URI, which the sqlite registry would look
    # up in the process-wide tracking store instead of this client's
    version = client.create_model_version(
        name,
        client.get_logged_model(model_id).artifact_location,
        run_id=run_id,
        model_id=model_id,
        description=f"{spec.depths_text} ({spec.module})",
    )
    client.set_registered_model_alias(name, alias, version.version)
    logger.info(
        f"registered {name} version {version.version} ({spec.depths_text}), alias "
        f"{alias!r}: mlflow.pytorch.load_model('models:/{name}@{alias}')"
    )
    return version.version
