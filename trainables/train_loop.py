"""One candidate's training run: resume, train and report each epoch, score its stages at the end.

It runs in the process of a Tune trial (``sessions.TuneSession``) or in each rank of a
data-parallel Ray Train run (``sessions.TrainRankSession``); the session says where reports and
checkpoints go.  The run resumes from its checkpoint (a retried trial, or a restarted worker
group, continues at the next epoch, and its time and energy totals continue too), reports
``val_accuracy`` every epoch with a checkpoint (unless there is no validation split,
``--val-fraction 0``), and in the last epoch also reports test accuracy, the Table III measures
and ``importance/s1..sS`` computed by a scoring actor, with the scores of paired bootstrap
resamples (``importance_bootstrap``) that give the searcher a confidence for each decision.
With several ranks, validation is counted by every rank on its share; the test, the latency,
the stage features and their scores are computed once, by rank 0, on the same scoring images as
with one process.
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import replace
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
from trainables.distributed import gather_from_ranks, sum_over_ranks
from trainables.features import scoring_sample, stage_features
from trainables.metrics.architecture import architecture_measures
from trainables.metrics.emissions import EpochEmissions
from trainables.metrics.latency import cpu_latency_ms
from trainables.metrics.phases import PhaseClock
from trainables.models import build_model
from trainables.settings import TrialSettings
from trainables.spec import ArchSpec
from trainables.stage_importance import scores_by_criterion, scoring_key, stage_importance
from trainables.training import CandidateTrainer, ImageBatches
from trainables.transfer import transfer_weights
from trainables.trial_config import (
    CONTINUE_FROM_KEY,
    EPOCHS_KEY,
    EXTRA_EPOCHS_KEY,
    FROM_DONOR,
    IMPORTANCE_BY_KEY,
    INIT_KEY,
    INIT_SEED_KEY,
    LAST_RESULT_KEY,
    SCORE_AT_KEY,
    SCORE_WITH_KEY,
    trial_identity,
)
from trainables.worker_process import quiet_exit_requests


def _save_checkpoint(
    folder: str, model, optimizer, epoch: int, spec: ArchSpec, totals: dict[str, float]
) -> None:
    torch.save(
        {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch, "totals": totals},
        Path(folder) / CHECKPOINT_FILE,
    )
    (Path(folder) / ARCHITECTURE_FILE).write_text(spec.to_json())


def _data_bytes(data: DataSplits) -> int:
    return sum(array.nbytes for array in (data.x_train, data.x_val, data.x_test) if array is not None)


def _acceleration_for(settings: TrialSettings, data: DataSplits, device: torch.device):
    """Device settings of this run; on a shared GPU the trial also keeps to its share of memory,
    so that A and T packed on one device cannot starve each other."""
    share = settings.gpus_per_trial if 0 < settings.gpus_per_trial < 1 else 1.0
    if device.type == "cuda" and share < 1:
        torch.cuda.set_per_process_memory_fraction(share, device)
    return choose_acceleration(device, _data_bytes(data), share, settings.precision, settings.compile)


def train_network(config: dict, settings: TrialSettings, scorers: list, session) -> None:
    """Train the candidate ``config`` names (``trial_identity``) in this process, reporting to
    ``session``.

    Every result holds ``phase_seconds``: where this attempt's time went so far
    (``trainables.metrics.phases``)."""
    clock = PhaseClock()
    logging.getLogger("ray.train").setLevel(logging.WARNING)  # one line per checkpoint otherwise
    quiet_exit_requests()
    torch.set_num_threads(session.threads)
    shard = session.shard
    data = settings.data
    acceleration = _acceleration_for(settings, data, session.device)
    device = acceleration.device
    spec = settings.spec_for(trial_identity(config)[0])
    training = settings.training
    if EPOCHS_KEY in config:
        training = replace(training, epochs=int(config[EPOCHS_KEY]))
    init_seed = int(config.get(INIT_SEED_KEY, settings.seed))
    # what seeds a criterion that draws random numbers for this network
    key = scoring_key(settings.seed, trial_identity(config)[2], init_seed, spec.depths)
    torch.manual_seed(init_seed)  # the same initial weights on every rank
    model = build_model(spec)
    if settings.donor is not None and config.get(INIT_KEY, FROM_DONOR) == FROM_DONOR:
        transfer_weights(model, settings.donor)  # then fine-tuned; a resumed trial reloads below
    trainer = CandidateTrainer(model, training, acceleration)
    model, optimizer = trainer.model, trainer.optimizer
    mean, std = settings.normalisation(data)
    train = ImageBatches(data.x_train, data.y_train, mean, std, device, acceleration.data_on_device)
    val = train.sibling(data.x_val, data.y_val)

    start_epoch = 0
    totals = {"train_seconds": 0.0, "energy_kwh": 0.0, "emissions_kg": 0.0}
    resumed = session.resumed_checkpoint()
    checkpoint = resumed or _continued_checkpoint(config, settings)
    if checkpoint is not None:
        with checkpoint.as_directory() as folder:
            final_result = read_final_result(folder) if resumed is not None else None
            if final_result is not None:
                # the driver stopped after this trial's last epoch but before it had recorded
                # the trial's end: the last report again, for the searcher and the trial's run,
                # with its checkpoint (a data-parallel trial's report names where it is)
                session.report(final_result, folder)
                return
            _, state = read_checkpoint(folder, device)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start_epoch, totals = state["epoch"], state["totals"]

    # cheap size measures go into every report, so networks that a scheduler stops early have them
    size = architecture_measures(model, spec, latency=False)
    # every report of an attempt that resumed says from which epoch: it did not start from scratch
    attempt = {"resumed_at_epoch": start_epoch} if resumed is not None else {}
    nodes = gather_from_ranks(ray.get_runtime_context().get_node_id())
    where = {"node_id": nodes[0], **({"worker_node_ids": ",".join(nodes)} if len(nodes) > 1 else {})}
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
            # every rank's process draws its own power: the candidate's energy is their sum
            energy_kwh, emissions_kg = sum_over_ranks(
                torch.tensor(emissions.stop(), dtype=torch.float64, device=device)
            ).tolist()
        if not np.isfinite(loss):
            raise FloatingPointError(f"training loss is {loss} at epoch {epoch + 1}: diverged")
        totals = {
            "train_seconds": totals["train_seconds"] + epoch_seconds,
            "energy_kwh": totals["energy_kwh"] + energy_kwh,
            "emissions_kg": totals["emissions_kg"] + emissions_kg,
        }
        with clock.phase("validation"):
            validation = {"val_accuracy": trainer.evaluate_together(val)} if len(val) else {}
        metrics = {
            "epoch": epoch + 1,
            "train_loss": loss,
            **validation,
            "lr": optimizer.param_groups[0]["lr"],
            "epoch_seconds": epoch_seconds,
            "images_seen": (epoch + 1) * len(train),
            **size,
            **attempt,
            **where,
            **totals,
            "gpu_seconds": totals["train_seconds"] * settings.gpus_per_trial * shard.world_size,
        }
        if device.type == "cuda":
            metrics["peak_gpu_memory_mb"] = torch.cuda.max_memory_allocated(device) / 1e6
        if trainer.compile_seconds is not None:
            metrics["compile_seconds"] = trainer.compile_seconds
        decision = decision or _compile_now(trainer, "auto", epoch_seconds, epochs - epoch - 1)
        metrics["acceleration"] = {
            **acceleration.describe(),
            "threads": str(torch.get_num_threads()),
            "workers": str(shard.world_size),
            "compile": decision.reason,
        }
        last = epoch + 1 == epochs
        if shard.leader and epoch + 1 in config.get(SCORE_AT_KEY, ()):
            with clock.phase("scoring"):
                metrics[IMPORTANCE_BY_KEY] = _scores_by_criterion(
                    model, settings, data, train, scorers, config[SCORE_WITH_KEY], key, session.trial_id
                )
        if last and shard.leader:
            metrics.update(
                _final_measures(
                    trainer,
                    spec,
                    settings,
                    data,
                    train,
                    scorers,
                    key if score else None,
                    clock,
                    session.trial_id,
                )
            )
        if last:
            metrics[LAST_RESULT_KEY] = True
        metrics["phase_seconds"] = dict(clock.seconds)
        with clock.phase("checkpoint"), tempfile.TemporaryDirectory() as folder:
            if shard.leader:
                if last:
                    write_final_result(folder, metrics)
                _save_checkpoint(folder, model, optimizer, epoch + 1, spec, totals)
            session.report(metrics, folder)


def _compile_now(
    trainer: CandidateTrainer, request: str, eager_epoch_seconds: float | None, epochs_left: int
) -> CompileDecision | None:
    """Apply the compile decision; ``None`` while an "auto" request waits for a timed epoch."""
    if request == "auto" and eager_epoch_seconds is None:
        return None
    decision = decide_compile(request, eager_epoch_seconds or 0.0, epochs_left)
    if decision.compile and epochs_left > 0:
        trainer.compile()
    return decision


def _continued_checkpoint(config: dict, settings: TrialSettings) -> tune.Checkpoint | None:
    """The checkpoint of the trial a continuation (``--final-epochs``) starts from: a folder of
    the same experiment (on local disk or the shared storage's URI), or where a data-parallel
    trial's Ray Train run keeps it (an absolute path or URI)."""
    if CONTINUE_FROM_KEY not in config:
        return None
    location = config[CONTINUE_FROM_KEY]
    if not (location.startswith("/") or "://" in location):
        location = f"{settings.experiment_path}/{location}"
    return tune.Checkpoint(location)


def _final_measures(
    trainer: CandidateTrainer,
    spec: ArchSpec,
    settings: TrialSettings,
    data: DataSplits,
    train: ImageBatches,
    scorers: list,
    key: tuple[int, ...] | None,
    clock: PhaseClock,
    trial_id: str,
) -> dict:
    """Latency, test accuracy and, given the network's scoring ``key`` (``scoring_key``), the
    stage scores (``None``: the network is not scored)."""
    model = trainer.model
    with clock.phase("latency"):
        measures = {"cpu_latency_ms": cpu_latency_ms(model, spec.in_channels, spec.image_size)}
    if data.x_test is not None:
        with clock.phase("test"):
            measures["test_accuracy"] = trainer.evaluate(train.sibling(data.x_test, data.y_test))
    if key is None:
        return measures
    started = time.perf_counter()
    images = _scoring_images(settings, data, train)
    measures.update(
        stage_importance(
            stage_features(model, images),
            images.labels.cpu().numpy(),
            settings.criterion,
            bootstrap=settings.bootstrap,
            seed=settings.seed,
            scorers=scorers,
            spread_key=trial_id,
            key=key,
        )
    )
    measures["scoring_seconds"] = time.perf_counter() - started
    clock.add("scoring", measures["scoring_seconds"])
    return measures


def _scoring_images(settings: TrialSettings, data: DataSplits, train: ImageBatches) -> ImageBatches:
    """The images every network of a search is scored on (``features.scoring_sample``)."""
    sample = scoring_sample(data.y_train, settings.scoring_samples, settings.seed)
    return train.sibling(data.x_train[sample], data.y_train[sample])


def _scores_by_criterion(
    model,
    settings: TrialSettings,
    data: DataSplits,
    train: ImageBatches,
    scorers: list,
    criteria: list[str],
    key: tuple[int, ...],
    trial_id: str,
) -> dict[str, dict[str, float]]:
    """The stages' scores by each of ``criteria`` on one extraction of the stage features (the
    audit compares criteria on the same trained networks)."""
    images = _scoring_images(settings, data, train)
    return scores_by_criterion(
        stage_features(model, images),
        images.labels.cpu().numpy(),
        criteria,
        seed=settings.seed,
        scorers=scorers,
        spread_key=trial_id,
        key=key,
    )
