"""Does the fast path cost accuracy?  The same network, seed and epochs trained twice on real data.

"plain" is our loop with none of the speed settings (fp32, NCHW, no compilation); "fast" is what
``trainables.acceleration`` chooses on this device (bf16, channels_last and, when it pays off or
``--compile on``, torch.compile with CUDA graphs).  Both see the same batches and augmentation;
it prints both test accuracies and their difference.  Needs no Ray, so it runs on a bare GPU image:

    python benchmarks/fast_vs_plain_accuracy.py --data-dir /usr/share/datasets/fashion-mnist \\
        --out benchmarks/results/fast_vs_plain_fmnist-h100.json
"""

from __future__ import annotations

import argparse
import time

import torch
from benchmark_io import environment, write_json  # this folder (scripts run from here)

from trainables.acceleration import Acceleration, choose_acceleration
from trainables.datasets import load_dataset
from trainables.models import build_model
from trainables.protocol import TrainingConfig
from trainables.spec import ArchSpec, parse_depths
from trainables.training import CandidateTrainer, ImageBatches, channel_stats

DEBIAN_FASHION_MNIST = "/usr/share/datasets/fashion-mnist"  # package dataset-fashion-mnist


def train_and_test(
    data, spec: ArchSpec, config: TrainingConfig, acceleration: Acceleration, seed: int
) -> dict:
    """Test accuracy and training seconds of one run."""
    torch.manual_seed(seed)
    trainer = CandidateTrainer(build_model(spec), config, acceleration)
    if acceleration.compile == "on":
        trainer.compile()
    train = ImageBatches(
        data.x_train,
        data.y_train,
        *channel_stats(data.x_train),
        acceleration.device,
        acceleration.data_on_device,
    )
    generator = torch.Generator()
    started = time.perf_counter()
    for epoch in range(config.epochs):
        generator.manual_seed(seed * 100_003 + epoch)
        trainer.train_epoch(train, epoch, generator, data.flip_ok)
    seconds = time.perf_counter() - started
    return {
        "settings": acceleration.describe(),
        "train_seconds": seconds,
        "compile_seconds": trainer.compile_seconds,
        "test_accuracy": trainer.evaluate(train.sibling(data.x_test, data.y_test)),
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="idx")
    parser.add_argument(
        "--data-dir",
        help=f"the data set's folder (idx default: Debian's Fashion-MNIST, {DEBIAN_FASHION_MNIST})",
    )
    parser.add_argument("--depths", default="3-3-3", help="a small ResNet (ResNet-20)")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--max-train-images", type=int, help="a stratified training subset")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--precision", choices=("auto", "bf16", "fp32"), default="auto")
    parser.add_argument("--compile", choices=("off", "on"), default="off")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="write the results as JSON here")
    args = parser.parse_args(argv)

    data_dir = args.data_dir or (DEBIAN_FASHION_MNIST if args.dataset == "idx" else None)
    data = load_dataset(args.dataset, data_dir=data_dir, seed=args.seed)
    if args.max_train_images:
        data = data.with_train_subset(args.max_train_images, args.seed)
    spec = ArchSpec(
        depths=parse_depths(args.depths),
        in_channels=data.in_channels,
        image_size=data.image_size,
        num_classes=data.num_classes,
    )
    config = TrainingConfig(epochs=args.epochs, lr=args.lr, batch_size=args.batch_size)
    device = torch.device(args.device)
    fast = choose_acceleration(device, data.x_train.nbytes, precision=args.precision, compile=args.compile)
    plain = Acceleration(device)
    result = {
        **environment(device),
        "dataset": args.dataset,
        "train_images": len(data.y_train),
        "depths": args.depths,
        "epochs": args.epochs,
        "seed": args.seed,
        "plain": train_and_test(data, spec, config, plain, args.seed),
        "fast": train_and_test(data, spec, config, fast, args.seed),
    }
    result["difference_points"] = 100 * (result["fast"]["test_accuracy"] - result["plain"]["test_accuracy"])
    result["speedup"] = result["plain"]["train_seconds"] / result["fast"]["train_seconds"]
    print(
        f"plain {100 * result['plain']['test_accuracy']:.2f}% in "
        f"{result['plain']['train_seconds']:.0f} s, fast {100 * result['fast']['test_accuracy']:.2f}% "
        f"in {result['fast']['train_seconds']:.0f} s ({result['fast']['settings']}): "
        f"{result['difference_points']:+.2f} points, {result['speedup']:.2f}x",
        flush=True,
    )
    write_json(args.out, result)
    return result


if __name__ == "__main__":
    main()
