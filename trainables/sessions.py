"""Where one training process of a candidate reports to and resumes from.

A candidate trains in one process that Tune runs (``TuneSession``), or data-parallel in the
ranks of a Ray Train run that the Tune trial launched (``TrainRankSession``).  The epoch loop
(``trainables.train_loop``) is the same for both; only these few calls differ.
"""

from __future__ import annotations

import ray
import ray.train
import ray.train.torch
import torch
from ray import tune

from trainables.distributed import WHOLE, Shard, current_shard


class TuneSession:
    """A candidate trained by the Tune trial's own process."""

    shard: Shard = WHOLE

    @property
    def trial_id(self) -> str:
        return tune.get_context().get_trial_id()

    @property
    def threads(self) -> int:
        """One torch thread per CPU the trial holds: trials side by side each keep to their own,
        and a CPU trial that trains alone holds its missing twin's as well (``ALONE_KEY``)."""
        return max(1, int(tune.get_context().get_trial_resources().head_cpus))

    @property
    def device(self) -> torch.device:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")

    def resumed_checkpoint(self) -> tune.Checkpoint | None:
        return tune.get_checkpoint()

    def report(self, metrics: dict, checkpoint_folder: str | None) -> None:
        tune.report(
            metrics,
            checkpoint=tune.Checkpoint.from_directory(checkpoint_folder) if checkpoint_folder else None,
        )


class TrainRankSession:
    """One rank of a data-parallel candidate, in a Ray Train worker.  Every rank reports each
    epoch (Ray Train's report is a barrier); the Train-to-Tune callback passes rank 0's metrics to
    the Tune trial, and only rank 0 writes the checkpoint."""

    def __init__(self, trial_id: str, cpus_per_worker: float) -> None:
        self.trial_id = trial_id
        self.threads = max(1, int(cpus_per_worker))
        self.shard = current_shard()
        self.device = ray.train.torch.get_device()
        if self.device.type == "cuda":  # NCCL's object collectives use the current device
            torch.cuda.set_device(self.device)

    def resumed_checkpoint(self) -> ray.train.Checkpoint | None:
        return ray.train.get_checkpoint()

    def report(self, metrics: dict, checkpoint_folder: str | None) -> None:
        ray.train.report(
            metrics,
            checkpoint=ray.train.Checkpoint.from_directory(checkpoint_folder)
            if checkpoint_folder and self.shard.leader
            else None,
        )
