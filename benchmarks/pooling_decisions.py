"""The stage-wise decisions of a finished search under two poolings of the same trained networks:
the authors' 8x8/stride-8 windows and this project's whole-map grid (``trainables.features``).

Both poolings score the *same* checkpoints on the same images, so every difference between the
two decision rows is the pooling's, not training noise.  Give the data flags the search ran with:

    python benchmarks/pooling_decisions.py --search nas_results/fm-pool --dataset idx \\
        --data-dir ~/data/fashion-mnist --max-train-images 5000
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from nas_service.config import SearchConfig
from nas_service.core.growth import stage_confidence
from scoring.bootstrap import bootstrap_stage_scores
from scoring.criteria import stage_score
from trainables.checkpoints import load_trained_model
from trainables.features import pool_stage_output
from trainables.training import ImageBatches, channel_stats

TRIAL = re.compile(r"it(\d+)-([AT])-([\d-]+)_\w+")


def authors_pooling(output: torch.Tensor) -> torch.Tensor:
    """8x8 windows with stride 8, no padding, capped at the map: the bottom and right edges of
    maps whose sides 8 does not divide are left out."""
    window = min(8, output.shape[-2], output.shape[-1])
    return F.avg_pool2d(output, window, window).permute(0, 2, 3, 1).flatten(1)


@torch.no_grad()
def features_both_ways(folder: Path, images: ImageBatches) -> dict[str, list[np.ndarray]]:
    """Per pooling, one (N, F) matrix per stage of the trial's last checkpoint."""
    checkpoint = max(folder.glob("checkpoint_*"))
    _, model = load_trained_model(checkpoint)
    poolings = {"authors": authors_pooling, "whole map": pool_stage_output}
    batches: dict[str, list[list[torch.Tensor]]] = {name: [] for name in poolings}
    for x, _ in images.batches(256):
        outputs = [output.float() for output in model.forward_stages(x)]
        for name, pool in poolings.items():
            batches[name].append([pool(output) for output in outputs])
    return {
        name: [torch.cat(stage).numpy() for stage in zip(*per_batch, strict=True)]
        for name, per_batch in batches.items()
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--search", required=True, help="the search's Tune folder")
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--data-dir")
    parser.add_argument("--max-train-images", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--criterion", default="plsvip")
    parser.add_argument("--bootstrap", type=int, default=20)
    args = parser.parse_args(argv)
    data = SearchConfig(
        dataset=args.dataset, data_dir=args.data_dir, seed=args.seed, max_train_images=args.max_train_images
    ).load_splits()
    mean, std = channel_stats(data.x_train)
    images = ImageBatches(data.x_train, data.y_train, mean, std, torch.device("cpu"))
    trials = {}
    for folder in Path(args.search).iterdir():
        match = TRIAL.fullmatch(folder.name)
        if match and list(folder.glob("checkpoint_*")):
            trials[int(match[1]), match[2]] = (match[3], folder)
    for iteration in sorted({k for k, _ in trials}):
        if (iteration, "A") not in trials or (iteration, "T") not in trials:
            continue
        (depths_a, folder_a), (depths_t, folder_t) = trials[iteration, "A"], trials[iteration, "T"]
        a, t = features_both_ways(folder_a, images), features_both_ways(folder_t, images)
        for pooling in ("authors", "whole map"):
            score_a = [stage_score(f, data.y_train, args.criterion) for f in a[pooling]]
            score_t = [stage_score(f, data.y_train, args.criterion) for f in t[pooling]]
            confidence = stage_confidence(
                [
                    bootstrap_stage_scores(f, data.y_train, args.criterion, args.bootstrap, args.seed)
                    for f in a[pooling]
                ],
                [
                    bootstrap_stage_scores(f, data.y_train, args.criterion, args.bootstrap, args.seed)
                    for f in t[pooling]
                ],
            )
            grows = ["grow" if st > sa else "keep" for sa, st in zip(score_a, score_t, strict=True)]
            shapes = "/".join(str(f.shape[1]) for f in a[pooling])
            print(
                f"iteration {iteration} {depths_a} vs {depths_t}, {pooling:9} ({shapes} features): "
                f"A {', '.join(f'{v:.4f}' for v in score_a)}; T "
                f"{', '.join(f'{v:.4f}' for v in score_t)}; P(T beats A) "
                f"{', '.join(f'{p:.2f}' for p in confidence)} -> {', '.join(grows)}"
            )


if __name__ == "__main__":
    main()
