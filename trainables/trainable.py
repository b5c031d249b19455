"""The Tune function trainable: train one candidate, report each epoch, score its stages.

This is the thin Ray layer around ``trainables.training``, ``trainables.features`` and
``trainables.metrics``: it resumes from Tune's checkpoint (a retried trial continues at the next
epoch, and its time and energy totals continue too), reports ``val_accuracy`` every epoch with a
checkpoint (unless there is no validation split, ``--val-fraction 0``), and in the last epoch
also reports test accuracy, the Table III measures and
``importance/s1..sS`` computed by a scoring actor, with the scores of paired bootstrap resamples
(``importance_bootstrap``) that give the searcher a confidence for each decision.
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import ray
import torch
from ray import tune

from trainables.acceleration import CompileDecision, choose_acceleration, decide_compile
from trainables.checkpoints import (
    ARCHITECTURE_FILE,
    CHECKPOINT_FILE,
    read_checkpoint,
    read_final_result,
    write_final_result,
)
from trainables.datasets.splits import DataSplits
from trainables.features import scoring_sample, stage_features
from trainables.metrics.architecture import architecture_measures
from trainables.metrics.emissions import EpochEmissions
from trainables.metrics.latency import cpu_latency_ms
from trainables.metrics.phases import PhaseClock
from trainables.models import build_model
from trainables.protocol import TrainingConfig
from trainables.spec import ArchSpec
from trainables.stage_importance import stage_importance
from trainables.training import CandidateTrainer, ImageBatches, channel_stats
from trainables.transfer import Donor, transfer_weights
from trainables.trial_config import (
    CONTINUE_FROM_KEY,
    EPOCHS_KEY,
    EXTRA_EPOCHS_KEY,
    FROM_DONOR,
    INIT_KEY,
    INIT_SEED_KEY,
    LAST_RESULT_KEY,
    trial_identity,
)
from trainables.worker_process import quiet_exit_requests


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


def _save_checkpoint(folder: str, model, optimizer, epoch: int, spec: ArchSpec,
                     totals: dict[str, float]) -> tune.Checkpoint:
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch,
                "totals": totals}, Path(folder) / CHECKPOINT_FILE)
    (Path(folder) / ARCHITECTURE_FILE).write_text(spec.to_json())
    return tune.Checkpoint.from_directory(folder)


def _data_bytes(data: DataSplits) -> int:
    return sum(array.nbytes for array in (data.x_train, data.x_val, data.x_test) if array is not None)


def _acceleration_for(settings: TrialSettings):
    """Device settings of this trial; on a shared GPU the trial also keeps to its share of memory,
    so that A and T packed on one device cannot starve each other."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    share = settings.gpus_per_trial if 0 < settings.gpus_per_trial < 1 else 1.0
    if device.type == "cuda" and share < 1:
        torch.cuda.set_per_process_memory_fraction(share, device)
    return choose_acceleration(device, _data_bytes(settings.data), share, settings.precision,
                               settings.compile)


def train_candidate(config: dict, settings: TrialSettings, scorers: list) -> None:
    """Tune trainable; ``config`` is a stage-wise proposal or a sampled point (``trial_identity``).

    Every result holds ``phase_seconds``: where this attempt's time went so far
    (``trainables.metrics.phases``)."""
    clock = PhaseClock()
    logging.getLogger("ray.train").setLevel(logging.WARNING)  # one line per checkpoint otherwise
    quiet_exit_requests()
    torch.set_num_threads(_threads_held())
    acceleration = _acceleration_for(settings)
    device = acceleration.device
    spec = settings.spec_for(trial_identity(config)[0])
    data = settings.data
    training = settings.training
    if EPOCHS_KEY in config:
        training = replace(training, epochs=int(config[EPOCHS_KEY]))
    init_seed = int(config.get(INIT_SEED_KEY, settings.seed))
    torch.manual_seed(init_seed)
    model = build_model(spec)
    if settings.donor is not None and config.get(INIT_KEY, FROM_DONOR) == FROM_DONOR:
        transfer_weights(model, settings.donor)  # then fine-tuned; a resumed trial reloads below
    trainer = CandidateTrainer(model, training, acceleration)
    model, optimizer = trainer.model, trainer.optimizer
    mean, std = channel_stats(data.x_train)
    train = ImageBatches(data.x_train, data.y_train, mean, std, device, acceleration.data_on_device)
    val = train.sibling(data.x_val, data.y_val)

    start_epoch = 0
    totals = {"train_seconds": 0.0, "energy_kwh": 0.0, "emissions_kg": 0.0}
    resumed = tune.get_checkpoint()
    checkpoint = resumed or _continued_checkpoint(config, settings)
    if checkpoint is not None:
        with checkpoint.as_directory() as folder:
            _, state = read_checkpoint(folder, device)
            final_result = read_final_result(folder) if resumed is not None else None
        if final_result is not None:
            # the driver stopped after this trial's last epoch but before it had recorded the
            # trial's end: the last report again, for the searcher and the trial's run
            tune.report(final_result)
            return
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start_epoch, totals = state["epoch"], state["totals"]

    # cheap size measures go into every report, so networks that a scheduler stops early have them
    size = architecture_measures(model, spec, latency=False)
    emissions = EpochEmissions(settings.country)
    generator = torch.Generator(device="cpu")
    # a continuation trains on past the schedule's end: learning_rate keeps its last value there
    epochs = training.epochs + int(config.get(EXTRA_EPOCHS_KEY, 0))
    score = settings.score_stages and CONTINUE_FROM_KEY not in config
    decision = _compile_now(trainer, acceleration.compile, None, epochs - start_epoch)
    clock.add("setup", clock.since_start())
    for epoch in range(start_epoch, epochs):
        with clock.phase("emissions"):
            emissions.start()  # outside the epoch's time: its first start in a process takes seconds
        started = time.perf_counter()
        generator.manual_seed(init_seed * 100_003 + epoch)
        loss = trainer.train_epoch(train, epoch, generator, data.flip_ok)
        epoch_seconds = time.perf_counter() - started
        clock.add("train", epoch_seconds)
        with clock.phase("emissions"):
            energy_kwh, emissions_kg = emissions.stop()
        if not np.isfinite(loss):
            raise FloatingPointError(f"training loss is {loss} at epoch {epoch + 1}: diverged")
        totals = {"train_seconds": totals["train_seconds"] + epoch_seconds,
                  "energy_kwh": totals["energy_kwh"] + energy_kwh,
                  "emissions_kg": totals["emissions_kg"] + emissions_kg}
        with clock.phase("validation"):
            validation = {"val_accuracy": trainer.evaluate(val)} if len(val) else {}
        metrics = {"epoch": epoch + 1, "train_loss": loss, **validation,
                   "lr": optimizer.param_groups[0]["lr"], "epoch_seconds": epoch_seconds,
                   "images_seen": (epoch + 1) * len(train), **size,
                   "node_id": ray.get_runtime_context().get_node_id(),
                   **totals, "gpu_seconds": totals["train_seconds"] * settings.gpus_per_trial}
        if device.type == "cuda":
            metrics["peak_gpu_memory_mb"] = torch.cuda.max_memory_allocated(device) / 1e6
        if trainer.compile_seconds is not None:
            metrics["compile_seconds"] = trainer.compile_seconds
        decision = decision or _compile_now(trainer, "auto", epoch_seconds, epochs - epoch - 1)
        metrics["acceleration"] = {**acceleration.describe(), "threads": str(torch.get_num_threads()),
                                   "compile": decision.reason}
        if epoch + 1 == epochs:
            metrics.update(_final_measures(trainer, spec, settings, train, scorers, score, clock))
            metrics[LAST_RESULT_KEY] = True
        metrics["phase_seconds"] = dict(clock.seconds)
        with clock.phase("checkpoint"), tempfile.TemporaryDirectory() as folder:
            if epoch + 1 == epochs:
                write_final_result(folder, metrics)
            tune.report(metrics, checkpoint=_save_checkpoint(folder, model, optimizer, epoch + 1,
                                                             spec, totals))


def _threads_held() -> int:
    """One torch thread per CPU the trial holds: trials side by side each keep to their own, and
    a CPU trial that trains alone holds its missing twin's as well (``ALONE_KEY``)."""
    return max(1, int(tune.get_context().get_trial_resources().head_cpus))


def _compile_now(trainer: CandidateTrainer, request: str, eager_epoch_seconds: float | None,
                 epochs_left: int) -> CompileDecision | None:
    """Apply the compile decision; ``None`` while an "auto" request waits for a timed epoch."""
    if request == "auto" and eager_epoch_seconds is None:
        return None
    decision = decide_compile(request, eager_epoch_seconds or 0.0, epochs_left)
    if decision.compile and epochs_left > 0:
        trainer.compile()
    return decision


def _continued_checkpoint(config: dict, settings: TrialSettings) -> tune.Checkpoint | None:
    """The checkpoint of the trial a continuation (``--final-epochs``) starts from: a folder of
    the same experiment, on local disk or the shared storage's URI."""
    if CONTINUE_FROM_KEY not in config:
        return None
    return tune.Checkpoint(f"{settings.experiment_path}/{config[CONTINUE_FROM_KEY]}")


def _final_measures(trainer: CandidateTrainer, spec: ArchSpec, settings: TrialSettings,
                    train: ImageBatches, scorers: list, score: bool, clock: PhaseClock) -> dict:
    data, model = settings.data, trainer.model
    with clock.phase("latency"):
        measures = {"cpu_latency_ms": cpu_latency_ms(model, spec.in_channels, spec.image_size)}
    if data.x_test is not None:
        with clock.phase("test"):
            measures["test_accuracy"] = trainer.evaluate(train.sibling(data.x_test, data.y_test))
    if not score:
        return measures
    started = time.perf_counter()
    sample = scoring_sample(data.y_train, settings.scoring_samples, settings.seed)
    images = train.sibling(data.x_train[sample], data.y_train[sample])
    measures.update(stage_importance(stage_features(model, images), images.labels.cpu().numpy(),
                                     settings.criterion, bootstrap=settings.bootstrap,
                                     seed=settings.seed, scorers=scorers,
                                     spread_key=tune.get_context().get_trial_id()))
    measures["scoring_seconds"] = time.perf_counter() - started
    clock.add("scoring", measures["scoring_seconds"])
    return measures
