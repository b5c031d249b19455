"""The stage-wise search as a Ray Tune experiment tracked in MLflow (``stagewise-nas run``).

Works unchanged on a laptop (starts a local Ray), on one GPU, and inside ``ray job submit`` (joins
the cluster in ``RAY_ADDRESS``).
"""

from __future__ import annotations

import logging

import pandas as pd

from nas_service.config import SearchConfig
from nas_service.core.budget import spent_by
from nas_service.core.decisions import decision_lines, decision_record
from nas_service.core.errors import SearchFailed, failure_cause
from nas_service.limits import growth_costs
from nas_service.reporting.report import write_report
from nas_service.tracking.models import log_found_model
from nas_service.tracking.records import log_decisions, log_json_artifact
from nas_service.tracking.tags import FINAL_RUN_ID_TAG
from nas_service.tune.experiment import Experiment, start_experiment
from nas_service.tune.results import trial_error
from nas_service.tune.searcher import StageWiseSearcher
from nas_service.tune.stagewise_options import StageWiseOptions
from scoring.actor import create_scoring_pool
from trainables.checkpoints import load_trained_model
from trainables.data_parallel import latest_checkpoint
from trainables.datasets.splits import DataSplits
from trainables.metrics.costs import NetworkCosts
from trainables.spec import format_depths

logger = logging.getLogger(__name__)


def search(config: SearchConfig, data: DataSplits | None = None, costs: NetworkCosts | None = None) -> dict:
    """Run one stage-wise search; returns the final architecture record with the budget it spent
    and the settings it ran with (``settings``: a resumed search's saved ones).  ``costs`` is the
    cost function of the resource limits, when the caller has already checked them
    (``nas_service.limits.growth_costs``).

    Raises ``ConfigError``/``DatasetError`` on bad input and ``SearchFailed`` when a candidate
    cannot be trained.  A search stopped by its budget ends cleanly with the architecture reached.
    """
    experiment = start_experiment(config, "stagewise", data=data)
    config = experiment.config  # a resumed search runs with its saved settings
    logger.info(
        f"stage-wise: start {'-'.join(map(str, config.start_depths))}, delta "
        f"{config.delta}, {config.iterations} iterations"
    )
    costs = costs or growth_costs(config, experiment.settings.data)
    options = StageWiseOptions(
        references=config.reference_depths,
        seed=config.seed,
        on_no_growth=config.on_no_growth,
        min_confidence=config.min_confidence,
        score_seeds=config.score_seeds,
        limits=config.limits,
        cost_of=costs,
        final_epochs=config.final_epochs or 0,
    )
    searcher = StageWiseSearcher(
        config.start_depths,
        config.delta,
        config.iterations,
        options,
        # without a validation split trials report no val_accuracy
        **({"metric": "train_loss", "mode": "min"} if config.val_fraction == 0 else {}),
    )
    stopper = experiment.budget_stopper(config.budget())
    scorers = create_scoring_pool(config.scoring_actors, criterion=config.criterion)
    tuner = experiment.make_tuner(scorers, searcher.max_trials, search_alg=searcher, stopper=stopper)
    client, parent_run_id = experiment.client, experiment.parent_run_id
    with experiment.parent_run_status():
        results, table = experiment.fit(tuner)
        searcher.log_announcements()  # a decision Tune never asked past (a budget, a signal)
        if config.resume:  # Tune ran the searcher it restored; read back its final state
            searcher.restore_from_dir(str(experiment.folder))
        budget_spent = experiment.budget_spent(stopper)
        if experiment.stop_requested or (searcher.error is None and not searcher.done and not budget_spent):
            raise experiment.interrupted()
        if searcher.error is not None and not budget_spent:
            raise SearchFailed(
                f"search stopped: {searcher.error}"
                f"{failure_cause(trial_error(results, searcher.failed_trial_id))}; finished "
                f"candidates are in MLflow run {parent_run_id}"
            )
        record = final_architecture(searcher, table)
        record["spent"] = spent_by([r.metrics for r in results if r.metrics])
        record["parent_run_id"] = parent_run_id
        if budget_spent:
            record["stopped_by_budget"] = True
            logger.info(
                f"budget spent ({record['spent']}): the search ends at iteration "
                f"{searcher.iteration} with {record['depths']}"
            )
        log_json_artifact(client, parent_run_id, "final_architecture.json", record)
        log_decisions(client, parent_run_id, record)
        experiment.log_outcome(results, record["measures"])
        model_uri = _log_final_model(experiment, results, record)
        report_folder = experiment.folder / "report"
        write_report(client, parent_run_id, report_folder, finishing=True)
    _log_summary(table, record)
    logger.info(f"report: {report_folder / 'report.md'}")
    return {**record, "settings": config, "candidates": table, "results": results, "model_uri": model_uri}


def _log_final_model(experiment: Experiment, results, record: dict) -> str | None:
    """The found network as an MLflow logged model of its child run, an output of the parent run
    too; its URI (``models:/<model id>``), or ``None`` when no checkpoint of it is left."""
    run_id, trial_id = record["measures"]["mlflow_run_id"], record["measures"]["trial_id"]
    checkpoint = next(
        (
            latest_checkpoint(r.checkpoint, r.metrics)
            for r in results
            if trial_id and str(r.path).endswith(trial_id)
        ),
        None,
    )
    if checkpoint is None:
        return None
    with checkpoint.as_directory() as folder:
        spec, model = load_trained_model(folder)
    model_uri = log_found_model(
        experiment.client, run_id, model, spec, also_output_of=(experiment.parent_run_id,)
    )
    experiment.client.set_tag(experiment.parent_run_id, FINAL_RUN_ID_TAG, run_id)
    return model_uri


def _log_summary(table: pd.DataFrame, record: dict) -> None:
    """The candidates, the decisions and the found network, as one block (a table on the console)."""
    shown = [
        c
        for c in [
            "run_name",
            "depth",
            "params",
            "macs",
            "cpu_latency_ms",
            "emissions_kg",
            "val_accuracy",
            "test_accuracy",
            *[c for c in table.columns if c.startswith("importance_")],
        ]
        if c in table.columns
    ]
    with pd.option_context(
        "display.width", 200, "display.max_columns", 20, "display.float_format", "{:.4g}".format
    ):
        candidates = table[shown].to_string(index=False)
    measures = record["measures"]
    found = (
        f"Found architecture: {record['depths']} (run {record['run_name']}, depth "
        f"{measures['depth']}, {measures['params']} params, {measures['macs']} MACs, "
        f"val accuracy {measures['val_accuracy']}, test accuracy {measures['test_accuracy']})"
    )
    logger.info("\n".join(["", "Candidates:", candidates, *decision_lines(record), "", found]))


def final_architecture(searcher: StageWiseSearcher, table: pd.DataFrame) -> dict:
    """The found depths (where a budget stopped the search: the current A), the decisions of every
    iteration that ran, how the search ended and the measures of the run that trained the found
    network (named even when it was an earlier candidate, reused)."""
    depths = format_depths(searcher.final_depths or searcher.current)
    run = searcher.final_run_name()
    trained = table[table["run_name"] == run] if run else table.iloc[0:0]
    measures = trained.iloc[-1].to_dict() if not trained.empty else {}
    return {
        "depths": depths,
        "run_name": run,
        "converged": searcher.converged,
        "measures": {
            key: measures.get(key)
            for key in (
                "depth",
                "params",
                "macs",
                "cpu_latency_ms",
                "val_accuracy",
                "test_accuracy",
                "mlflow_run_id",
                "trial_id",
            )
        },
        "iterations": [decision_record(step) for step in searcher.history],
    }
