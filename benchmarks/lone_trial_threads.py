"""What a second CPU thread buys a network that trains alone, by image size.

A CPU trial that trains alone (the found network, T after a reused A) may hold the CPUs of its
missing twin and train with their threads, but a different resource request starts a new trial
process (torch's imports, codecarbon's first start: about 4 s).  This script times our training
step (channels_last, SGD with momentum, batch 64) with 1 and 2 torch threads, alternating in one
process, for a basic-block network at each image size, and prints the per-step ratio; the search
gives a lone trial two threads from the image size where the ratio repays that start
(``nas_service.tune.cluster.TWO_THREADS_FROM_IMAGE_SIZE``).

    python benchmarks/lone_trial_threads.py --out benchmarks/results/lone_trial_threads-cpu.json
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from benchmark_io import environment, write_json  # this folder (scripts run from here)

from trainables.models import build_model
from trainables.protocol import TrainingConfig
from trainables.spec import ArchSpec, parse_depths
from trainables.training import make_optimizer


def seconds_per_step(
    depths: tuple[int, ...],
    image_size: int,
    channels: int,
    threads: tuple[int, ...],
    rounds: int,
    seconds: float,
) -> dict[int, list[float]]:
    """Mean seconds of a training step with each thread count, ``rounds`` times in turn."""
    spec = ArchSpec(depths, in_channels=channels, image_size=image_size, num_classes=10)
    model = build_model(spec).to(memory_format=torch.channels_last)
    optimizer = make_optimizer(model, TrainingConfig(epochs=1, lr=0.02))
    images = torch.randn(64, channels, image_size, image_size).contiguous(memory_format=torch.channels_last)
    labels = torch.randint(0, 10, (64,))

    def step() -> None:
        loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    timings: dict[int, list[float]] = {count: [] for count in threads}
    for _ in range(rounds):
        for count in threads:
            torch.set_num_threads(count)
            step()  # the thread pool at its new size
            steps, started = 0, time.perf_counter()
            while time.perf_counter() - started < seconds:
                step()
                steps += 1
            timings[count].append((time.perf_counter() - started) / steps)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--depths", default="6-6-6", help="basic-block network, e.g. 6-6-6")
    parser.add_argument(
        "--sizes", default="8:1,16:1,28:1,32:3", help="image size:channels pairs, e.g. 8:1,28:1,32:3"
    )
    parser.add_argument("--rounds", type=int, default=3, help="turns of 1 then 2 threads")
    parser.add_argument("--seconds", type=float, default=4.0, help="timing per turn")
    parser.add_argument("--out", help="JSON file to write")
    args = parser.parse_args()
    rows = []
    for pair in args.sizes.split(","):
        size, channels = (int(part) for part in pair.split(":"))
        timings = seconds_per_step(
            parse_depths(args.depths), size, channels, (1, 2), args.rounds, args.seconds
        )
        one, two = statistics.median(timings[1]), statistics.median(timings[2])
        rows.append(
            {
                "image_size": size,
                "channels": channels,
                "one_thread_s": one,
                "two_threads_s": two,
                "speedup": one / two,
            }
        )
        print(
            f"{size}x{size}x{channels}: {one * 1000:.0f} ms per step with 1 thread, "
            f"{two * 1000:.0f} ms with 2: {one / two:.2f}x"
        )
    write_json(
        args.out,
        {
            **environment(torch.device("cpu")),
            "depths": args.depths,
            "batch_size": 64,
            "rounds": args.rounds,
            "rows": rows,
        },
    )


if __name__ == "__main__":
    main()
