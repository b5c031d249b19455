"""What every trial of one search shares, shipped once to each trial through the object store."""

from __future__ import annotations

from dataclasses import dataclass

import ray

from trainables.datasets.splits import DataSplits
from trainables.protocol import TrainingConfig
from trainables.spec import ArchSpec
from trainables.transfer import Donor


@dataclass(frozen=True)
class TrialSettings:
    """What every trial of one search shares; shipped once through the object store.

    The data set travels by reference (``data_ref``, put into the object store once per search):
    the settings stay a few kilobytes, and the trials of a node read one shared copy of the
    arrays (``data``) instead of each unpickling its own."""

    data_ref: ray.ObjectRef  # a DataSplits in Ray's object store
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

    @property
    def data(self) -> DataSplits:
        """The search's data set, its arrays read in place from the object store (read-only; no
        copy per process or per call)."""
        return ray.get(self.data_ref)

    def spec_for(self, depths) -> ArchSpec:
        data = self.data  # one read of the object store, not one per attribute
        return ArchSpec(depths=tuple(depths), module=self.module, widths=self.widths,
                        in_channels=data.in_channels, image_size=data.image_size,
                        num_classes=data.num_classes)
