"""Random search and ASHA over the stage-wise space (``python -m nas_service.baselines``).

Random search is Tune's own ``BasicVariantGenerator`` sampling ``tune.choice`` per stage; ASHA is
Tune's ``ASHAScheduler`` (on ``val_accuracy``, rungs in epochs) over the same random samples.  Both
train with the same trainable, data, protocol and resources as stage-wise, each as an MLflow
parent run (tag ``nas.method``) with its trials as children.  The search space is every depth
stage-wise can reach (``nas_service.space``).

Budget: ``--budget-images`` (training images processed, ``nas_service.budget``).  Random search
trains ``floor(budget / (epochs x training images))`` networks in full; ASHA samples until the
budget is spent, since it stops most networks early.  ``--samples`` sets the number of networks
instead.
"""

from __future__ import annotations

import math

from ray.tune.schedulers import ASHAScheduler
from ray.tune.search import BasicVariantGenerator

from nas_service.budget import Budget, spent_by
from nas_service.config import SearchConfig
from nas_service.baselines import check_baseline
from nas_service.experiment import (MAX_CONCURRENT_TRIALS, raise_if_trials_failed,
                                    start_experiment)
from nas_service.space import DepthSpace
from trainables.datasets.splits import DataSplits

ASHA_REDUCTION_FACTOR = 3
# ASHA's sample cap when only a budget bounds it; the budget stopper ends it long before.
ASHA_MAX_SAMPLES = 1000


def baseline(config: SearchConfig, method: str, samples: int | None = None,
             data: DataSplits | None = None, callbacks: tuple = ()) -> dict:
    """Run one baseline; returns its parent run id, trials table and the budget it spent."""
    check_baseline(config, method, samples)
    budget = config.budget()
    experiment = start_experiment(config, method, score_stages=False, data=data)
    full_trial_images = config.training().epochs * len(experiment.settings.data.y_train)
    space = DepthSpace.reachable_by_stagewise(config.start_depths, config.delta, config.iterations)
    if method == "random":
        num_samples = samples or max(1, math.floor(budget.images / full_trial_images))
        stop_budget = Budget(None, budget.gpu_hours, budget.emissions_kg)
        scheduler = None
    else:
        num_samples = samples or ASHA_MAX_SAMPLES
        stop_budget = budget
        scheduler = ASHAScheduler(time_attr="training_iteration", max_t=config.training().epochs,
                                  grace_period=1, reduction_factor=ASHA_REDUCTION_FACTOR)
    print(f"[nas] {method}: up to {num_samples} networks from {space.size} in depths "
          f"{space.choices} per stage", flush=True)
    stopper = experiment.budget_stopper(stop_budget)
    tuner = experiment.make_tuner(
        [], num_samples, search_alg=BasicVariantGenerator(random_state=config.seed,
                                         max_concurrent=MAX_CONCURRENT_TRIALS),
        scheduler=scheduler, param_space=space.param_space(), stopper=stopper,
        metric="val_accuracy", mode="max", callbacks=callbacks)
    with experiment.parent_run_status():
        results, table = experiment.fit(tuner)
        raise_if_trials_failed(results, method)
        budget_spent = stopper is not None and stopper.exhausted
        if results.num_terminated + results.num_errors < num_samples and not budget_spent:
            raise experiment.interrupted()  # Tune returns early after Ctrl-C
        spent = spent_by([r.metrics for r in results if r.metrics])
        print(f"[nas] {method}: trained {len(table)} networks, spent {spent}", flush=True)
    return {"method": method, "parent_run_id": experiment.parent_run_id, "table": table,
            "spent": spent}
