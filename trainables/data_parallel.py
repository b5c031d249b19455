"""A data-parallel candidate: the Tune trial drives a Ray Train run of ``workers_per_trial`` ranks.

Following Ray's pattern for Train inside Tune (Train V2): the trial builds a ``TorchTrainer``
and waits for it; each rank runs the usual epoch loop (``train_loop.train_network``) under DDP,
gloo on CPUs and NCCL on GPUs (Ray Train's defaults), and Ray's ``TuneReportCallback`` hands
rank 0's report of every epoch to the trial.  The Tune trial holds no checkpoint of its own: each
report names where Ray Train keeps the epoch's checkpoint (``CHECKPOINT_LOCATION_KEY``, a folder
or a URI of the shared storage), which is what continuations, the MLflow runs and the found
network's model read.

The Train run keeps its checkpoints under the experiment folder, in
``data_parallel/<trial name>_<trial id>``: a run of that name resumes from its latest
checkpoint.  That covers both failures: a worker that dies (its node lost, the process killed)
restarts the worker group from the last epoch's checkpoint (``FailureConfig``), and a trial that
Tune starts again (a retry, a resumed search) finds its Train run under the same name.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import PurePosixPath

import ray
import ray.train
import ray.train.v2._internal.execution.context as train_context
from ray import tune
from ray.train.torch import TorchTrainer
from ray.tune.integration.ray_train import TuneReportCallback

from trainables.sessions import TrainRankSession
from trainables.settings import TrialSettings
from trainables.train_loop import train_network
from trainables.trial_config import CHECKPOINT_LOCATION_KEY

TRAIN_RUNS_FOLDER = "data_parallel"
# a restarted worker group costs one epoch at most; a second death in one attempt fails the trial,
# which Tune then retries as it does any trial
WORKER_GROUP_RESTARTS = 1


def train_run_name(trial_name: str, trial_id: str) -> str:
    """The Ray Train run of a trial: the same across the trial's attempts, never another's."""
    return f"{trial_name}_{trial_id}"


class ReportCheckpointLocation(TuneReportCallback):
    """Ray's Train-to-Tune callback, with each checkpoint's full location added to the report:
    the ``checkpoint_path`` it adds is a path inside the storage's filesystem, without the
    URI's scheme (``bucket/...`` for ``s3://bucket/...``)."""

    def __init__(self, run_location: str) -> None:
        super().__init__()
        self.run_location = run_location

    def after_report(self, run_context, metrics, checkpoint) -> None:
        if checkpoint is not None:
            location = f"{self.run_location}/{PurePosixPath(checkpoint.path).name}"
            metrics = [{**metrics[0], CHECKPOINT_LOCATION_KEY: location}, *metrics[1:]]
        super().after_report(run_context, metrics, checkpoint)


def fit_data_parallel(config: dict, settings: TrialSettings, scorers: list) -> None:
    """Train the candidate of ``config`` on ``settings.workers_per_trial`` ranks and wait."""
    context = tune.get_context()
    gpus = settings.gpus_per_trial
    storage = f"{settings.experiment_path}/{TRAIN_RUNS_FOLDER}"
    name = train_run_name(context.get_trial_name(), context.get_trial_id())
    trainer = TorchTrainer(
        _train_rank,
        train_loop_config={
            "config": config,
            "settings": settings,
            "scorers": scorers,
            "trial_id": context.get_trial_id(),
        },
        scaling_config=ray.train.ScalingConfig(
            num_workers=settings.workers_per_trial,
            use_gpu=gpus > 0,
            resources_per_worker={"CPU": settings.cpus_per_trial, **({"GPU": gpus} if gpus else {})},
        ),
        run_config=ray.train.RunConfig(
            name=name,
            storage_path=storage,
            callbacks=[ReportCheckpointLocation(f"{storage}/{name}")],
            checkpoint_config=ray.train.CheckpointConfig(num_to_keep=1),
            # Ray Train's INFO lines: the worker group's start and its resources, per trial
            logging_config=ray.LoggingConfig(log_level="WARNING"),
            failure_config=ray.train.FailureConfig(max_failures=WORKER_GROUP_RESTARTS),
        ),
    )
    trainer.fit()


def _train_rank(loop_config: dict) -> None:
    # Ray Train's line for every report of every rank comes from a logger named after its file,
    # which the run's ``logging_config`` does not reach
    logging.getLogger(train_context.__file__).setLevel(logging.WARNING)
    settings = loop_config["settings"]
    train_network(
        loop_config["config"],
        settings,
        loop_config["scorers"],
        TrainRankSession(loop_config["trial_id"], settings.cpus_per_trial),
    )


def latest_checkpoint(checkpoint: tune.Checkpoint | None, metrics: Mapping | None) -> tune.Checkpoint | None:
    """A trial's latest checkpoint, wherever it is kept: Tune's ``checkpoint`` of the trial (a
    ``Result``'s, a ``Trial``'s) or, for a data-parallel trial, which leaves its checkpoints to
    its Ray Train run, the one its last result (``metrics``) names; ``None`` when it has none.
    Whoever reads a trained network asks here."""
    if checkpoint is not None:
        return checkpoint
    location = (metrics or {}).get(CHECKPOINT_LOCATION_KEY)
    return tune.Checkpoint(location) if location else None
