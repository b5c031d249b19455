"""What every trial of one search shares, shipped once to each trial through the object store."""

from __future__ import annotations

from dataclasses import dataclass

import ray
import torch

from trainables.datasets.mapped import MappedFolder
from trainables.datasets.splits import DataSplits
from trainables.datasets.statistics import Moments
from trainables.protocol import TrainingConfig
from trainables.spec import ArchSpec
from trainables.training import channel_stats, normalisation
from trainables.transfer import Donor


@dataclass(frozen=True)
class TrialSettings:
    """What every trial of one search shares; shipped once through the object store.

    The data set travels by reference (``data_source``): the settings stay a few kilobytes.
    Either it was put into the object store once per search, and the trials of a node read one
    shared copy of the arrays instead of each unpickling its own; or it is a prepared folder on
    shared storage (``--dataset mapped``) that each trial memory-maps itself."""

    data_source: ray.ObjectRef | MappedFolder  # a DataSplits in Ray's object store, or its folder
    training: TrainingConfig
    criterion: str
    scoring_samples: int | None  # None: every training image
    seed: int
    module: str = "basic"
    widths: tuple[int, ...] | None = None
    gpus_per_trial: float = 0.0
    country: str = "USA"
    score_stages: bool = True
    precision: str = "auto"
    compile: str = "auto"
    donor: Donor | None = None  # --transfer-from: candidates start from its weights
    bootstrap: int = 0  # paired bootstrap replicates of the stage scores (0: none)
    experiment_path: str | None = None  # the Tune experiment folder or URI (continuations read it)
    workers_per_trial: int = 1  # > 1: each candidate trains data-parallel in a Ray Train run
    cpus_per_trial: float = 1.0  # of each worker, when workers_per_trial > 1
    # the training images' per-channel mean and std (``statistics.channel_moments``), computed once
    # by the driver: a full pass over the images that every trial would repeat otherwise
    channel_moments: Moments | None = None

    @property
    def data(self) -> DataSplits:
        """The search's data set, its arrays read in place from the object store or the mapped
        files (read-only; no copy per process or per call)."""
        if isinstance(self.data_source, MappedFolder):
            return self.data_source.open()
        return ray.get(self.data_source)

    def normalisation(self, data: DataSplits) -> tuple[torch.Tensor, torch.Tensor]:
        """The mean and std that batches are normalised with: the driver's, or computed from
        ``data`` where the settings were built without them."""
        if self.channel_moments is None:
            return channel_stats(data.x_train)
        return normalisation(*self.channel_moments)

    def spec_for(self, depths) -> ArchSpec:
        # one read of the object store, not one per attribute
        return ArchSpec.for_data(depths, self.module, self.widths, self.data)
