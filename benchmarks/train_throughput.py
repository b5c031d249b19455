"""Training images/s: a plain PyTorch loop against our trainer, same model, same data, one process.

The plain loop is what most code does: a ``DataLoader`` with torchvision's per-image RandomCrop
(padding 4) and RandomHorizontalFlip in worker processes, fp32, NCHW.  Ours keeps the uint8 data
on the device with batched augmentation there, bf16 autocast and channels_last where the device
supports them (``trainables.acceleration``), and, on a GPU, also compiled with CUDA graphs
(steady state; the compile time is printed beside it).  Every variant trains the same
architectures from the same initialisation on the same synthetic CIFAR-shaped images; the first
epoch of each is a warm-up and is not timed.

From the ResNet-56 and ResNet-110 images/s at the paper's batch size it projects the paper's full
protocol on this device (``protocol_hours``).  On the GPU:

    python benchmarks/train_throughput.py --out benchmarks/results/train_throughput-h100.json

A CPU smoke run (what the test suite does): ``--device cpu --models 1-1-1 --images 256``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F
from benchmark_io import environment, write_json  # this folder (scripts run from here)
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import v2

from trainables.acceleration import choose_acceleration
from trainables.models import build_model
from trainables.protocol import TrainingConfig
from trainables.spec import ArchSpec, format_depths, parse_depths
from trainables.training import CandidateTrainer, ImageBatches, channel_stats, make_optimizer

PAPER_TRAIN_IMAGES = 50_000
PAPER_EPOCHS = 200
PAPER_FINAL_EXTRA_EPOCHS = 100
PAPER_ITERATIONS = 5
PAPER_M0, PAPER_DELTA, PAPER_STAGES = 6, 2, 3


class AugmentedImages(Dataset):
    """uint8 CHW tensors through torchvision's per-image transforms, as a plain loop does."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, mean, std) -> None:
        self.images, self.labels = torch.from_numpy(images), torch.from_numpy(labels)
        size = images.shape[-1]
        self.transform = v2.Compose(
            [
                v2.RandomCrop(size, padding=max(1, round(size / 8))),
                v2.RandomHorizontalFlip(),
                v2.ToDtype(torch.float32, scale=True),
                v2.Normalize(mean.tolist(), std.tolist()),
            ]
        )

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        return self.transform(self.images[index]), self.labels[index]


def plain_loop(model, images, labels, config: TrainingConfig, device, epochs: int, workers: int) -> float:
    """Images/s of the plain loop over ``epochs`` timed epochs after one warm-up epoch."""
    mean, std = channel_stats(images)
    loader = DataLoader(
        AugmentedImages(images, labels, mean, std),
        batch_size=config.batch_size,
        shuffle=True,
        num_workers=workers,
        pin_memory=device.type == "cuda",
        persistent_workers=workers > 0,
    )
    model = model.to(device).train()
    optimizer = make_optimizer(model, config)

    def epoch() -> None:
        for x, y in loader:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss.item()

    return _images_per_second(epoch, len(labels), epochs, device)


def our_trainer(
    model, images, labels, config: TrainingConfig, device, epochs: int, compiled: bool
) -> tuple[float, float | None, dict]:
    """Images/s of ``CandidateTrainer`` (and the compile seconds when ``compiled``)."""
    acceleration = choose_acceleration(device, images.nbytes, compile="off")
    trainer = CandidateTrainer(model, config, acceleration)
    if compiled:
        trainer.compile()
    data = ImageBatches(images, labels, *channel_stats(images), device, acceleration.data_on_device)
    generator = torch.Generator()
    rate = _images_per_second(
        lambda: trainer.train_epoch(data, 0, generator, flip=True), len(labels), epochs, device
    )
    return rate, trainer.compile_seconds, acceleration.describe()


def _images_per_second(run_epoch, images_per_epoch: int, epochs: int, device) -> float:
    run_epoch()  # warm-up: workers, cuDNN autotuning, compilation
    _synchronize(device)
    started = time.perf_counter()
    for _ in range(epochs):
        run_epoch()
    _synchronize(device)
    return epochs * images_per_epoch / (time.perf_counter() - started)


def _synchronize(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def paper_architectures() -> list[tuple[tuple[int, ...], int]]:
    """(depths, epochs) of the paper's 11 models when every stage grows in every iteration (the
    most expensive trajectory): A_k and T_k for k = 1..5, then the final candidate +100 epochs."""
    models = []
    for k in range(PAPER_ITERATIONS):
        a = PAPER_M0 + PAPER_DELTA * k
        models += [((a,) * PAPER_STAGES, PAPER_EPOCHS), ((a + PAPER_DELTA,) * PAPER_STAGES, PAPER_EPOCHS)]
    final = PAPER_M0 + PAPER_DELTA * PAPER_ITERATIONS
    models.append(((final,) * PAPER_STAGES, PAPER_EPOCHS + PAPER_FINAL_EXTRA_EPOCHS))
    return models


def protocol_hours(rate_by_blocks: dict[int, float], pack_ratio: float = 1.0) -> float:
    """Hours for ``paper_architectures`` on 50,000 images, given measured images/s by total block
    count.  Time per image is linear in the number of blocks (every block of a stage costs the
    same), fitted through the two measured points.  A and T of an iteration train side by side
    ``pack_ratio`` times faster than one after the other; the final candidate trains alone."""
    (blocks_1, rate_1), (blocks_2, rate_2) = sorted(rate_by_blocks.items())[:2]
    slope = (1 / rate_2 - 1 / rate_1) / (blocks_2 - blocks_1)

    def seconds(depths: tuple[int, ...], epochs: int) -> float:
        per_image = 1 / rate_1 + slope * (sum(depths) - blocks_1)
        return epochs * PAPER_TRAIN_IMAGES * per_image

    *pairs, (final_depths, final_epochs) = paper_architectures()
    searched = sum(seconds(depths, epochs) for depths, epochs in pairs) / pack_ratio
    return (searched + seconds(final_depths, final_epochs)) / 3600


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--models", default="9-9-9,18-18-18", help="ResNet-56 and ResNet-110")
    parser.add_argument("--batch-sizes", default="128,512")
    parser.add_argument("--images", type=int, default=20_000, help="synthetic 32x32x3 images")
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs per variant")
    parser.add_argument("--workers", type=int, default=8, help="DataLoader workers (plain loop)")
    parser.add_argument(
        "--compile",
        choices=("auto", "on", "off"),
        default="auto",
        help="also time the compiled trainer (auto: on a GPU)",
    )
    parser.add_argument(
        "--pack-ratio",
        type=float,
        default=1.0,
        help="A+T packed speed-up from benchmarks/pack_a_t.py, for the projection",
    )
    parser.add_argument("--out", help="write the results as JSON here")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    with_compile = args.compile == "on" or (args.compile == "auto" and device.type == "cuda")
    rng = np.random.default_rng(0)
    size = args.image_size
    images = rng.integers(0, 256, (args.images, 3, size, size), dtype=np.uint8)
    labels = rng.integers(0, 10, args.images).astype(np.int64)

    rows = []
    for depths in map(parse_depths, args.models.split(",")):
        spec = ArchSpec(depths=depths, image_size=size)
        for batch_size in map(int, args.batch_sizes.split(",")):
            config = TrainingConfig(epochs=1, lr=0.01, batch_size=batch_size)

            def fresh_model(spec=spec):
                torch.manual_seed(0)
                return build_model(spec)

            row = {
                "depths": format_depths(depths),
                "depth": spec.depth,
                "batch_size": batch_size,
                "plain_images_per_s": plain_loop(
                    fresh_model(), images, labels, config, device, args.epochs, args.workers
                ),
            }
            row["ours_images_per_s"], _, row["ours_settings"] = our_trainer(
                fresh_model(), images, labels, config, device, args.epochs, compiled=False
            )
            row["ours_vs_plain"] = row["ours_images_per_s"] / row["plain_images_per_s"]
            if with_compile:
                rate, compile_seconds, _ = our_trainer(
                    fresh_model(), images, labels, config, device, args.epochs, compiled=True
                )
                row.update(
                    compiled_images_per_s=rate,
                    compile_seconds=compile_seconds,
                    compiled_vs_plain=rate / row["plain_images_per_s"],
                )
            rows.append(row)
            print(
                " ".join(
                    f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in row.items()
                    if k != "ours_settings"
                ),
                flush=True,
            )

    result = {
        **environment(device),
        "images": args.images,
        "timed_epochs": args.epochs,
        "workers": args.workers,
        "rows": rows,
    }
    smallest_batch = min(row["batch_size"] for row in rows)
    fastest = "compiled_images_per_s" if with_compile else "ours_images_per_s"
    rates = {
        sum(parse_depths(row["depths"])): row[fastest] for row in rows if row["batch_size"] == smallest_batch
    }
    if len(rates) >= 2:
        result["projection"] = {
            "batch_size": smallest_batch,
            "trainer": fastest.removesuffix("_images_per_s"),
            "pack_ratio": args.pack_ratio,
            "models": [format_depths(d) for d, _ in paper_architectures()],
            "hours": protocol_hours(rates, args.pack_ratio),
        }
        print(
            f"paper protocol (11 models, 200 epochs on 50,000 images, final +100 epochs) on "
            f"{result['device']}: {result['projection']['hours']:.2f} h",
            flush=True,
        )
    write_json(args.out, result)
    return result


if __name__ == "__main__":
    main()
