"""Train one given architecture with a search's protocol (``stagewise-nas train``).

The network is one Tune trial, logged to MLflow exactly like a search's candidate (a parent run
tagged ``nas.method = train`` with one child holding its measures, ``architecture.json`` and
``checkpoint.pt``).  That makes it a donor for ``--transfer-from runs:/<child run id>`` or a
uniform-ResNet reference to compare found networks with.
"""

from __future__ import annotations

import logging

from nas_service.config import SearchConfig
from nas_service.tracking.tags import FINAL_RUN_ID_TAG
from nas_service.tune.experiment import start_experiment
from nas_service.tune.results import raise_if_trials_failed
from trainables.datasets.splits import DataSplits
from trainables.spec import format_depths
from trainables.trial_config import trial_config

logger = logging.getLogger(__name__)

ROLE = "single"


def train_one(config: SearchConfig, data: DataSplits | None = None) -> dict:
    """Train ``config.start_depths``; returns the parent and child run ids and the measures."""
    experiment = start_experiment(config, "train", score_stages=False, data=data)
    depths = list(experiment.config.start_depths)  # a resumed run's are its saved ones
    tuner = experiment.make_tuner([], 1, param_space=trial_config(depths, ROLE))
    with experiment.parent_run_status():
        results, table = experiment.fit(tuner)
        raise_if_trials_failed(results, f"training {format_depths(depths)}")
        experiment.log_outcome(results, table.iloc[0].to_dict())
    row = table.iloc[0]
    # like a search's found network: export and transfer_to accept the parent run too
    experiment.client.set_tag(experiment.parent_run_id, FINAL_RUN_ID_TAG, row["mlflow_run_id"])
    logger.info(
        f"trained {row['depths']}: val accuracy {row['val_accuracy']:.4f}, test accuracy "
        f"{row.get('test_accuracy', float('nan')):.4f}; use it as a donor with "
        f"--transfer-from runs:/{row['mlflow_run_id']}"
    )
    return {
        "parent_run_id": experiment.parent_run_id,
        "run_id": row["mlflow_run_id"],
        "depths": row["depths"],
        "val_accuracy": float(row["val_accuracy"]),
    }
