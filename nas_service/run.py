"""``python -m nas_service.run``: the stage-wise search as a Ray Tune experiment tracked in MLflow.

Works unchanged on a laptop (starts a local Ray), on one GPU, and inside ``ray job submit`` (joins
the cluster in ``RAY_ADDRESS``).  Bad settings end with one line on stderr and exit status 2
before Ray starts.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Sequence

import pandas as pd
from mlflow.tracking import MlflowClient
from ray import tune

from nas_service.candidates import candidates_table, final_architecture
from nas_service.cluster import connect, trial_resources
from nas_service.config import ConfigError, SearchConfig, parse_config
from nas_service.progress import ProgressPrinter
from nas_service.searcher import StageWiseSearcher, run_name
from nas_service.report import write_report
from nas_service.tracking import (FINAL_RUN_ID_TAG, PARENT_RUN_ID_TAG, TRIAL_ID_TAG,
                                  MLflowTrialCallback, log_json_artifact, log_pytorch_model,
                                  start_parent_run)
from scoring.actor import create_scoring_pool
from trainables.datasets import DatasetError, load_dataset
from trainables.trainable import TrialSettings, load_trained_model, train_candidate

PROG = "python -m nas_service.run"
# Checkpointing every epoch is intended; Tune's "snapshotting too often" warning is noise here.
os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
# Tune's rich console tables repeat every epoch; ProgressPrinter gives one line per candidate.
os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")


class SearchFailed(RuntimeError):
    """A candidate could not be trained; what finished before is kept in MLflow and on disk."""


def load_data(config: SearchConfig):
    return load_dataset(config.dataset, data_dir=config.data_dir, seed=config.seed,
                        image_size=config.image_size)


def failure_cause(results, trial_id: str | None) -> str:
    """`` (ExceptionType: message)`` of a failed trial, from Tune's results; empty if unknown."""
    for result in results:
        if result.error is not None and trial_id and str(result.path).endswith(trial_id):
            last_line = str(result.error).strip().splitlines()[-1]
            return f" ({last_line})"
    return ""


def child_run_ids(client: MlflowClient, parent_run_id: str) -> dict[str, str]:
    """trial id -> MLflow run id of the parent's children."""
    parent = client.get_run(parent_run_id)
    runs = client.search_runs([parent.info.experiment_id],
                              filter_string=f"tags.`{PARENT_RUN_ID_TAG}` = '{parent_run_id}'")
    return {run.data.tags[TRIAL_ID_TAG]: run.info.run_id for run in runs
            if TRIAL_ID_TAG in run.data.tags}


def build_tuner(config: SearchConfig, settings: TrialSettings, searcher: StageWiseSearcher,
                resources: dict, scorers: list, callbacks: list[tune.Callback]) -> tune.Tuner:
    trainable = tune.with_resources(
        tune.with_parameters(train_candidate, settings=settings, scorers=scorers), resources)
    return tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(
            search_alg=searcher, num_samples=searcher.max_trials, max_concurrent_trials=2,
            reuse_actors=True,
            trial_name_creator=lambda trial: run_name(trial.config),
            trial_dirname_creator=lambda trial: f"{run_name(trial.config)}_{trial.trial_id}"),
        run_config=tune.RunConfig(
            name=config.name, storage_path=config.storage_path,
            callbacks=[*callbacks, ProgressPrinter()],
            checkpoint_config=tune.CheckpointConfig(num_to_keep=1), verbose=0,
            failure_config=tune.FailureConfig(max_failures=1)),
    )


def search(config: SearchConfig) -> dict:
    """Run one search; returns the final architecture record.  Raises ``ConfigError`` on bad input."""
    data = load_data(config)
    training = config.training()
    print(f"[nas] {data.summary()}; start {'-'.join(map(str, config.start_depths))}, "
          f"delta {config.delta}, {config.iterations} iterations, {training.epochs} epochs each",
          flush=True)
    connect()
    resources = trial_resources(config.cpus_per_trial, config.gpus_per_trial)
    client = MlflowClient(config.tracking_uri)
    parent_run_id = start_parent_run(client, config.experiment, config.name, "stagewise",
                                     config.to_params())
    print(f"[nas] MLflow parent run {parent_run_id} in experiment {config.experiment!r} at "
          f"{config.tracking_uri}; Tune files in {config.storage_path}/{config.name}; "
          f"each trial uses {resources}", flush=True)
    settings = TrialSettings(data=data, training=training, criterion=config.criterion,
                             scoring_samples=config.scoring_samples, seed=config.seed,
                             module=config.module, threads=max(1, int(config.cpus_per_trial)),
                             gpus_per_trial=resources["gpu"], country=config.country)
    searcher = StageWiseSearcher(config.start_depths, config.delta, config.iterations,
                                 config.reference_depths)
    scorers = create_scoring_pool(config.scoring_actors)
    tuner = build_tuner(config, settings, searcher, resources, scorers,
                        [MLflowTrialCallback(config.tracking_uri, parent_run_id)])
    status = "FAILED"
    try:
        results = tuner.fit()
        table = candidates_table(results, child_run_ids(client, parent_run_id))
        _log_table(client, parent_run_id, table, Path(config.storage_path) / config.name)
        if searcher.error is not None:
            raise SearchFailed(f"search stopped: {searcher.error}"
                               f"{failure_cause(results, searcher.failed_trial_id)}; finished "
                               f"candidates are in MLflow run {parent_run_id}")
        record = final_architecture(searcher, table)
        log_json_artifact(client, parent_run_id, "final_architecture.json", record)
        _log_final_model(config, client, parent_run_id, results, record)
        report_folder = Path(config.storage_path) / config.name / "report"
        write_report(client, parent_run_id, report_folder)
        status = "FINISHED"
        _print_summary(table, record)
        print(f"[nas] report: {report_folder / 'report.md'}", flush=True)
        return record
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    finally:
        client.set_terminated(parent_run_id, status)


def _log_final_model(config: SearchConfig, client: MlflowClient, parent_run_id: str, results,
                     record: dict) -> None:
    """The found network as an MLflow PyTorch model on its child run (``runs:/<id>/model``)."""
    run_id = record["measures"]["mlflow_run_id"]
    trial_id = next((trial for trial, run in child_run_ids(client, parent_run_id).items()
                     if run == run_id), None)
    result = next((r for r in results if r.checkpoint is not None and trial_id
                   and str(r.path).endswith(trial_id)), None)
    if result is None:
        return
    with result.checkpoint.as_directory() as folder:
        spec, model = load_trained_model(folder)
    log_pytorch_model(config.tracking_uri, run_id, model, spec)
    client.set_tag(parent_run_id, FINAL_RUN_ID_TAG, run_id)


def _log_table(client: MlflowClient, parent_run_id: str, table: pd.DataFrame, folder: Path) -> None:
    if table.empty:
        return
    if "://" not in str(folder):
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "candidates.csv"
        table.to_csv(path, index=False)
        client.log_artifact(parent_run_id, str(path))


def _print_summary(table: pd.DataFrame, record: dict) -> None:
    shown = [c for c in ["run_name", "depth", "params", "macs", "cpu_latency_ms", "emissions_kg",
                         "val_accuracy", "test_accuracy",
                         *[c for c in table.columns if c.startswith("importance_")]]
             if c in table.columns]
    with pd.option_context("display.width", 200, "display.max_columns", 20,
                           "display.float_format", "{:.4g}".format):
        print("\nCandidates:\n" + table[shown].to_string(index=False))
    for step in record["iterations"]:
        print(f"iteration {step['iteration']}: A {step['A']} vs T {step['T']} -> {step['next']}")
    measures = record["measures"]
    print(f"\nFound architecture: {record['depths']} (depth {measures['depth']}, "
          f"{measures['params']} params, {measures['macs']} MACs, "
          f"val accuracy {measures['val_accuracy']}, test accuracy {measures['test_accuracy']})")


def main(argv: Sequence[str] | None = None) -> int:
    started = time.perf_counter()
    try:
        config = parse_config(argv, prog=PROG)
        search(config)
    except (ConfigError, DatasetError) as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    except SearchFailed as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 1
    print(f"[nas] done in {time.perf_counter() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
