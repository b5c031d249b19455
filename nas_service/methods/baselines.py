"""Random search, ASHA and Optuna TPE over the stage-wise space (``stagewise-nas baselines``).

Random search is Tune's own ``BasicVariantGenerator`` sampling ``tune.choice`` per stage; ASHA is
Tune's ``ASHAScheduler`` (on ``val_accuracy``, rungs in epochs) over the same random samples; TPE
is Tune's ``OptunaSearch`` with Optuna's tree-structured Parzen estimator (seeded), which proposes
each network from the validation accuracies of those trained before it.  All train with the same
trainable, data, protocol and resources as stage-wise, each as an MLflow parent run (tag
``nas.method``) with its trials as children.  The search space is every depth stage-wise can
reach (``nas_service.core.space``).

Budget: ``--budget-images`` (training images processed, ``nas_service.core.budget``).  Random search
and TPE train ``floor(budget / (epochs x training images))`` networks in full; ASHA samples until
the budget is spent, since it stops most networks early.  ``--samples`` sets the number of
networks instead.

ASHA's best network by validation accuracy may be one it stopped early, which never computed its
test accuracy: it is evaluated from its last checkpoint, and its child run is tagged so.
"""

from __future__ import annotations

import logging
import math

import optuna
from ray import tune
from ray.tune.schedulers import ASHAScheduler
from ray.tune.search import BasicVariantGenerator, SearchAlgorithm, Searcher
from ray.tune.search.optuna import OptunaSearch

from nas_service.config import SearchConfig
from nas_service.core.budget import Budget, spent_by
from nas_service.core.candidates import best_by_validation
from nas_service.core.space import DepthSpace
from nas_service.tracking.tags import TEST_ACCURACY_SOURCE_TAG
from nas_service.tune.experiment import (
    MAX_CONCURRENT_TRIALS,
    Experiment,
    start_experiment,
)
from nas_service.tune.results import raise_if_trials_failed
from nas_service.validation import check_baseline
from trainables.data_parallel import latest_checkpoint
from trainables.datasets.splits import DataSplits
from trainables.evaluation import checkpoint_test_accuracy
from trainables.trial_config import STAGE_DEPTHS_KEY

ASHA_REDUCTION_FACTOR = 3
# ASHA's sample cap when only a budget bounds it; the budget stopper ends it long before.
ASHA_MAX_SAMPLES = 1000

logger = logging.getLogger(__name__)


def search_algorithm(method: str, config: SearchConfig) -> SearchAlgorithm | Searcher:
    """The proposer of ``method``, seeded with ``config.seed``."""
    if method == "tpe":
        optuna.logging.set_verbosity(optuna.logging.WARNING)  # a line per trial otherwise
        return OptunaSearch(seed=config.seed)
    return BasicVariantGenerator(random_state=config.seed, max_concurrent=MAX_CONCURRENT_TRIALS)


def baseline(
    config: SearchConfig,
    method: str,
    samples: int | None = None,
    data: DataSplits | None = None,
    callbacks: tuple = (),
) -> dict:
    """Run one baseline; returns its parent run id, trials table and the budget it spent."""
    check_baseline(config, method, samples)
    experiment = start_experiment(config, method, score_stages=False, data=data)
    resumed, config = config.resume, experiment.config  # a resumed search's saved settings
    samples = _samples_of(experiment, samples, resumed)
    budget = config.budget()
    full_trial_images = config.training().epochs * experiment.train_images
    space = DepthSpace.reachable_by_stagewise(config.start_depths, config.delta, config.iterations)
    if method == "asha":
        num_samples = samples or ASHA_MAX_SAMPLES
        stop_budget = budget
        scheduler = ASHAScheduler(
            time_attr="training_iteration",
            max_t=config.training().epochs,
            grace_period=1,
            reduction_factor=ASHA_REDUCTION_FACTOR,
        )
    else:
        num_samples = samples or max(1, math.floor(budget.images / full_trial_images))
        stop_budget = Budget(None, budget.gpu_hours, budget.emissions_kg)
        scheduler = None
    logger.info(
        f"{method}: up to {num_samples} networks from {space.size} in depths {space.choices} per stage"
    )
    stopper = experiment.budget_stopper(stop_budget)
    tuner = experiment.make_tuner(
        [],
        num_samples,
        search_alg=search_algorithm(method, config),
        scheduler=scheduler,
        param_space=depth_param_space(space),
        stopper=stopper,
        metric="val_accuracy",
        mode="max",
        callbacks=callbacks,
    )
    with experiment.parent_run_status():
        results, table = experiment.fit(tuner)
        raise_if_trials_failed(results, method)
        if experiment.stop_requested:
            raise experiment.interrupted()
        never_reported = sum(1 for result in results if "epoch" not in (result.metrics or {}))
        if never_reported:
            logger.info(
                f"{method}: {never_reported} network(s) stopped by the budget before "
                f"their first epoch ended (not counted as trained)"
            )
        table = evaluate_best_stopped_early(experiment, results, table)
        spent = spent_by([r.metrics for r in results if r.metrics])
        experiment.log_outcome(results, best_by_validation(table))
        logger.info(f"{method}: trained {len(table)} networks, spent {spent}")
    return {"method": method, "parent_run_id": experiment.parent_run_id, "table": table, "spent": spent}


def _samples_of(experiment: Experiment, samples: int | None, resumed: bool) -> int | None:
    """``--samples``, kept on the parent run (param ``samples``) so that a resumed search, whose
    saved settings do not hold it, samples as many networks as the search it continues."""
    if resumed:
        saved = experiment.client.get_run(experiment.parent_run_id).data.params.get("samples")
        return int(saved) if saved else None
    if samples is not None:
        experiment.client.log_param(experiment.parent_run_id, "samples", samples)
    return samples


def evaluate_best_stopped_early(experiment: Experiment, results, table):
    """The table with a test accuracy for the best network by validation accuracy: evaluated
    from its last checkpoint (and logged to its run, tagged so) when it stopped before its last
    epoch.  Unchanged when there is no test split or the best network has its test accuracy."""
    best_row = best_by_validation(table)
    if best_row is None or experiment.settings.data.x_test is None:
        return table
    best = table.index[table["trial_id"] == best_row["trial_id"]][0]
    if table.loc[best, "test_accuracy"] == table.loc[best, "test_accuracy"]:  # not NaN
        return table
    trial_id, run_id = table.loc[best, "trial_id"], table.loc[best, "mlflow_run_id"]
    checkpoint = next(
        (
            latest_checkpoint(r.checkpoint, r.metrics)
            for r in results
            if (r.metrics or {}).get("trial_id") == trial_id
        ),
        None,
    )
    if checkpoint is None:
        return table
    data = experiment.settings.data
    with checkpoint.as_directory() as folder:
        accuracy = checkpoint_test_accuracy(folder, data, experiment.settings.normalisation(data))
    epoch = int(table.loc[best, "epoch"])
    source = f"checkpoint after epoch {epoch} (stopped early)"
    if run_id:
        experiment.client.log_metric(run_id, "test_accuracy", accuracy, step=epoch)
        experiment.client.set_tag(run_id, TEST_ACCURACY_SOURCE_TAG, source)
    logger.info(
        "%s: best network %s stopped at epoch %d; test accuracy %.4f from its %s",
        experiment.method,
        table.loc[best, "run_name"],
        epoch,
        accuracy,
        source,
    )
    table = table.copy()
    table.loc[best, "test_accuracy"] = accuracy
    experiment.log_table(table)
    return table


def depth_param_space(space: DepthSpace) -> dict:
    """Tune's param space over ``space``: one ``tune.choice`` per stage (read back by
    ``trainables.trial_config.trial_identity``)."""
    return {STAGE_DEPTHS_KEY: {f"m{i + 1}": tune.choice(space.choices) for i in range(space.num_stages)}}
