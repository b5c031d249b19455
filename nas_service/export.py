"""``python -m nas_service.export``: a trained candidate as a file that runs elsewhere.

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

import argparse
import os
import sys
import warnings
from pathlib import Path
from typing import Sequence

from nas_service.cli import run_command
from nas_service.config import OneLineParser, default_tracking_uri, require_existing_store
from nas_service.errors import ConfigError

PROG = "python -m nas_service.export"
FORMATS = ("torchscript", "pt2", "state_dict", "mlflow")
SUFFIXES = {"torchscript": ".torchscript.pt", "pt2": ".pt2", "state_dict": "", "mlflow": ""}


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog=PROG, description="Export a trained candidate.")
    parser.add_argument("--run-id", required=True, help="a candidate's or a search's MLflow run")
    parser.add_argument("--format", required=True, choices=FORMATS)
    parser.add_argument("--output", help="file or folder to write (default: ./<run id><suffix>)")
    parser.add_argument("--tracking-uri", help="MLflow tracking URI (default: "
                        "$MLFLOW_TRACKING_URI, else sqlite:///<cwd>/mlflow.db)")
    parser.add_argument("--register", metavar="NAME", help="also register it in the MLflow "
                        "model registry under this name")
    return parser


def writable_output(path: Path, fmt: str) -> Path:
    """``--output``, checked before any work: its folder exists and is writable, and a folder
    format (``mlflow``) does not overwrite what is there."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ConfigError(f"--output {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise ConfigError(f"--output {path}: folder {folder} is not writable")
    if fmt == "mlflow" and path.exists():
        raise ConfigError(f"--output {path}: already exists (an MLflow model folder is never "
                          "overwritten)")
    return path


def export(run_id: str, fmt: str, output: str | None, tracking_uri: str,
           register: str | None = None) -> Path:
    """Write the candidate of ``run_id`` in ``fmt``; returns the path written."""
    path = writable_output(Path(output or f"{run_id}{SUFFIXES[fmt]}"), fmt)
    require_existing_store(tracking_uri)  # both before the imports, which take seconds
    import torch
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    from nas_service.tracking import downloaded_checkpoint, log_pytorch_model, trained_network_run
    from trainables.checkpoints import ARCHITECTURE_FILE, load_trained_model

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
        import mlflow.pytorch

        mlflow.pytorch.save_model(model, str(path), serialization_format="pickle")
    if register:
        if not any(a.path == "model" for a in client.list_artifacts(run_id)):
            log_pytorch_model(client, run_id, model, spec)
        registered = {m.name for m in client.search_registered_models()}
        if register not in registered:
            client.create_registered_model(register)
        version = client.create_model_version(register, f"runs:/{run_id}/model", run_id=run_id)
        print(f"[nas] registered {register} version {version.version}", flush=True)
    print(f"[nas] {spec.depths_text} ({fmt}) -> {path}", flush=True)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()

    def command() -> Path:
        args = parser.parse_args(argv)
        return export(args.run_id, args.format, args.output,
                      default_tracking_uri(args.tracking_uri), args.register)

    return run_command(PROG, command)


if __name__ == "__main__":
    sys.exit(main())
