"""The epoch loop and evaluation of the training protocol (``trainables.protocol``), free of Ray.

Data stays as uint8 tensors; each batch is converted, normalised with the training set's
per-channel mean and std, and augmented (crop with padding, flip where it keeps the label) in one
batched step, so the same loop runs on CPU and GPU.  How it uses the device (placement, bf16,
channels_last, compilation) is ``trainables.acceleration``'s choice.
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from trainables.acceleration import Acceleration, compile_model
from trainables.augment import random_crop, random_flip
from trainables.datasets.statistics import channel_moments
from trainables.distributed import WHOLE, Shard, current_shard, sum_over_ranks
from trainables.protocol import TrainingConfig


def crop_padding_for(image_size: int) -> int:
    """4 pixels at 32x32 (the paper), scaled to the image size, at least 1."""
    return max(1, round(image_size / 8))


def host_or_device_tensor(array: np.ndarray, storage: torch.device) -> torch.Tensor:
    """``array`` as a tensor on ``storage``: a copy on an accelerator, but in host memory the
    array itself, never copied.  A trial's arrays come read-only from Ray's object store, shared
    by every process of the node; a copy per trial would cost the whole data set again in each
    (4 GB for ImageNet32).  Batches only read them (indexing makes new tensors), so torch's
    warning about non-writable arrays does not apply."""
    if storage.type != "cpu":
        return torch.as_tensor(array, device=storage)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(np.ascontiguousarray(array))


class ImageBatches:
    """uint8 images and labels served as normalised (optionally augmented) batches on ``device``.

    With ``on_device`` the uint8 data lives on ``device`` (no copies while training); otherwise it
    stays in host memory and each batch is gathered into pinned memory and copied asynchronously.
    Shuffling and augmentation draw from a CPU generator, so both placements give the same batches.
    """

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        mean: torch.Tensor,
        std: torch.Tensor,
        device: torch.device,
        on_device: bool = True,
    ) -> None:
        self.device = device
        self.on_device = on_device
        storage = device if on_device else torch.device("cpu")
        self.images = host_or_device_tensor(images, storage)
        self.labels = host_or_device_tensor(labels, storage)
        self.mean = mean.to(device)[None, :, None, None]
        self.std = std.to(device)[None, :, None, None]

    def sibling(self, images: np.ndarray, labels: np.ndarray) -> ImageBatches:
        """Other images served with this set's normalisation and placement (val/test/scoring)."""
        return ImageBatches(
            images, labels, self.mean.flatten(), self.std.flatten(), self.device, self.on_device
        )

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def image_size(self) -> int:
        return self.images.shape[-1]

    def normalise(self, images: torch.Tensor) -> torch.Tensor:
        return (images.float() / 255.0 - self.mean) / self.std

    def batches(
        self,
        batch_size: int,
        generator: torch.Generator | None = None,
        augment_padding: int = 0,
        flip: bool = False,
        shard: Shard = WHOLE,
    ):
        """Yield (x, y); with a generator the order is shuffled and the batch augmented.

        With a ``shard`` of several ranks, ``batch_size`` is the global batch: every rank draws
        the same order (same generator seed) and takes every ``world_size``-th image of each
        global batch from its ``rank`` on, so the ranks' batches together are exactly the batch
        one process would train on.  Each rank then augments with its own stream; in training
        (with a generator) a last batch smaller than the world is left out, as every rank must
        take the same steps."""
        if generator is None:
            order = torch.arange(len(self))
        else:
            order = torch.randperm(len(self), generator=generator)
            if shard.world_size > 1:
                generator = torch.Generator().manual_seed(
                    (generator.initial_seed() + 7919 * (shard.rank + 1)) % 2**63
                )
        order = order.to(self.labels.device)
        for start in range(0, len(self), batch_size):
            index = order[start : start + batch_size]
            if shard.world_size > 1:
                if generator is not None and len(index) < shard.world_size:
                    break
                index = index[shard.rank :: shard.world_size]
                if not len(index):
                    break
            images, labels = self.images[index], self.labels[index]
            if self.device.type == "cuda" and not self.on_device:
                images = images.pin_memory().to(self.device, non_blocking=True)
                labels = labels.pin_memory().to(self.device, non_blocking=True)
            x = self.normalise(images)
            if generator is not None:
                x = random_crop(x, augment_padding, generator)
                if flip:
                    x = random_flip(x, generator)
            yield x, labels


def normalisation(mean: tuple[float, ...], std: tuple[float, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """Channel moments as the float32 tensors that ``ImageBatches`` normalises with."""
    return torch.tensor(mean, dtype=torch.float32), torch.tensor(std, dtype=torch.float32)


def channel_stats(images: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """The normalisation of ``images``: their per-channel mean and std as float32 tensors."""
    return normalisation(*channel_moments(images))


def make_optimizer(model: nn.Module, config: TrainingConfig) -> torch.optim.SGD:
    decayed = [p for n, p in model.named_parameters() if p.ndim > 1]
    others = [p for n, p in model.named_parameters() if p.ndim <= 1]
    return torch.optim.SGD(
        [{"params": decayed, "weight_decay": config.weight_decay}, {"params": others, "weight_decay": 0.0}],
        lr=config.lr,
        momentum=config.momentum,
        nesterov=config.nesterov,
    )


def milestone_epochs(config: TrainingConfig) -> list[int]:
    """The 0-based epochs at which the step schedule divides lr: ``round(fraction * epochs)``,
    each moved to at least one epoch after the previous one (and after epoch 0).

    Without the move, short runs lost epochs: at 3 epochs both 50% and 75% round to epoch 2, and
    the run trained two epochs at lr and one at lr/100.  Now it trains two at lr and one at lr/10;
    a milestone moved past the last epoch does not happen.  From 4 epochs on every milestone
    falls where rounding puts it (10 epochs: 5 and 8; 200: 100 and 150, the paper's)."""
    epochs, previous = [], 0
    for fraction in sorted(config.milestones):
        previous = max(round(fraction * config.epochs), previous + 1)
        epochs.append(previous)
    return epochs


def learning_rate(config: TrainingConfig, epoch: int) -> float:
    """lr of 0-based ``epoch``.  ``step``: divided by ``lr_gamma`` once for every milestone
    passed (``milestone_epochs``); ``cosine``: lr * (1 + cos(pi * epoch / epochs)) / 2.  Epochs
    past the schedule's end (a continuation, ``--final-epochs``) keep its last epoch's lr."""
    epoch = min(epoch, config.epochs - 1)
    if config.schedule == "cosine":
        return config.lr * (1 + math.cos(math.pi * epoch / config.epochs)) / 2
    passed = sum(epoch >= milestone for milestone in milestone_epochs(config))
    return config.lr / config.lr_gamma**passed


class CandidateTrainer:
    """One network, its optimizer and the device settings it trains with.

    The training step may be compiled (``compile``).  Evaluation and a batch of another size (the
    last, partial one) run the eager module, which shares the compiled module's parameters, so
    neither triggers a recompilation nor breaks CUDA graphs' fixed shapes.

    In a process group of several ranks (a data-parallel candidate) the step runs through
    ``DistributedDataParallel``: each rank trains on its share of every global batch of
    ``config.batch_size`` images and the gradients are averaged over the ranks, which is the
    gradient of the whole batch (batch-norm statistics are each rank's own, as in any DDP run).
    So the learning rate stays the one for ``config.batch_size``: N workers at the same global
    batch need no rescaling.  ``model`` stays the plain network (checkpoints, evaluation).
    """

    def __init__(
        self, model: nn.Module, config: TrainingConfig, acceleration: Acceleration | None = None
    ) -> None:
        self.acceleration = acceleration or Acceleration(torch.device("cpu"))
        self.model = self.acceleration.prepare_model(model)
        self.config = config
        self.shard = current_shard()
        self.step_module = self.model
        if self.shard.world_size > 1:
            device = self.acceleration.device
            self.step_module = nn.parallel.DistributedDataParallel(
                self.model, device_ids=[device] if device.type == "cuda" else None
            )
        self.optimizer = make_optimizer(self.model, config)
        self.compiled: nn.Module | None = None
        self.compile_seconds: float | None = None  # the first compiled step, compilation included

    @property
    def rank_batch_size(self) -> int:
        """The images of one global batch that this rank trains on (all of them alone)."""
        return self.config.batch_size // self.shard.world_size

    def compile(self, backend: str | None = None) -> None:
        self.compiled = compile_model(self.step_module, self.acceleration.device, backend)

    def _step(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        use_compiled = self.compiled is not None and len(y) == self.rank_batch_size
        timed = use_compiled and self.compile_seconds is None
        started = time.perf_counter()
        with self.acceleration.autocast():
            loss = F.cross_entropy((self.compiled if use_compiled else self.step_module)(x), y)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        if timed:
            _synchronize(self.acceleration.device)
            self.compile_seconds = time.perf_counter() - started
        return loss.detach()

    def train_epoch(self, data: ImageBatches, epoch: int, generator: torch.Generator, flip: bool) -> float:
        """One pass over the training data; returns the mean loss (over every rank's images).
        The loss is summed on the device and read once, so the GPU never waits for Python
        between steps."""
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate(self.config, epoch)
        self.model.train()
        # the summed loss and the number of images it covers
        totals = torch.zeros(2, device=self.acceleration.device)
        padding = crop_padding_for(data.image_size)
        for x, y in data.batches(self.config.batch_size, generator, padding, flip, self.shard):
            totals[0] += self._step(self.acceleration.prepare_input(x), y).float() * len(y)
            totals[1] += len(y)
        loss_sum, images = sum_over_ranks(totals).tolist()
        return loss_sum / images

    def evaluate(self, data: ImageBatches) -> float:
        """Top-1 accuracy on ``data``, in this process alone (test and scoring: rank 0)."""
        return evaluate(self.model, data, acceleration=self.acceleration)

    def evaluate_together(self, data: ImageBatches) -> float:
        """Top-1 accuracy on ``data``, each rank counting its share (validation every epoch);
        the same number as ``evaluate`` in one process."""
        counts = correct_and_count(self.model, data, acceleration=self.acceleration, shard=self.shard)
        correct, count = sum_over_ranks(counts).tolist()
        return correct / count


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@torch.no_grad()
def correct_and_count(
    model: nn.Module,
    data: ImageBatches,
    batch_size: int = 512,
    acceleration: Acceleration | None = None,
    shard: Shard = WHOLE,
) -> torch.Tensor:
    """(correctly classified images, images) of ``shard``'s share of ``data``, on its device."""
    acceleration = acceleration or Acceleration(data.device)
    model.eval()
    counts = torch.zeros(2, dtype=torch.long, device=data.device)
    for x, y in data.batches(batch_size * shard.world_size, shard=shard):
        with acceleration.autocast():
            counts[0] += (model(acceleration.prepare_input(x)).argmax(1) == y).sum()
        counts[1] += len(y)
    return counts


def evaluate(
    model: nn.Module, data: ImageBatches, batch_size: int = 512, acceleration: Acceleration | None = None
) -> float:
    """Top-1 accuracy in [0, 1]."""
    correct, count = correct_and_count(model, data, batch_size, acceleration).tolist()
    return correct / count
