"""Stage-wise NAS over your own model, in a plain Ray Tune ``Tuner``.

``StageWiseSearcher`` proposes networks as ``config["depths"]`` (modules per stage) and decides
from what each trial reports with its last result: the importance of every stage's output
features, which ``stage_importance`` computes.  Anything else (the model, the data, the training
loop, the metric) is yours.  Run it with ``python examples/own_trainable.py`` (under a minute on
a laptop CPU); it writes Tune's files to ``./own_trainable_results``.
"""

import logging
from pathlib import Path

import torch
from ray import tune
from sklearn.datasets import load_digits
from torch import nn

from nas_service import StageWiseSearcher, stage_features_of, stage_importance

EPOCHS = 3


class StagedCNN(nn.Module):
    """Stage i is ``depths[i]`` 3x3 conv layers at one resolution; each later stage halves it."""

    def __init__(self, depths, widths=(8, 16), classes=10):
        super().__init__()
        stages, channels = [], 1
        for index, (depth, width) in enumerate(zip(depths, widths, strict=True)):
            layers = [nn.MaxPool2d(2)] if index else []
            for _ in range(depth):
                layers += [nn.Conv2d(channels, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU()]
                channels = width
            stages.append(nn.Sequential(*layers))
        self.stages = nn.ModuleList(stages)
        self.head = nn.Linear(channels, classes)

    def forward_stages(self, x):
        """Every stage's output: what ``stage_features_of`` pools and scores."""
        outputs = []
        for stage in self.stages:
            x = stage(x)
            outputs.append(x)
        return outputs

    def forward(self, x):
        return self.head(self.forward_stages(x)[-1].mean((2, 3)))


def digits():
    data = load_digits()
    images = torch.tensor(data.images[:, None] / 16.0, dtype=torch.float32)
    labels = torch.tensor(data.target)
    return images[:1400], labels[:1400], images[1400:], labels[1400:]


def train(config):
    """A Tune function trainable for one proposal of the searcher."""
    torch.manual_seed(config["init_seed"])
    torch.set_num_threads(1)
    images, labels, val_images, val_labels = digits()
    model = StagedCNN(config["depths"])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for epoch in range(EPOCHS):
        model.train()
        for start in range(0, len(images), 64):
            optimizer.zero_grad()
            batch = slice(start, start + 64)
            nn.functional.cross_entropy(model(images[batch]), labels[batch]).backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            accuracy = (model(val_images).argmax(1) == val_labels).float().mean().item()
        metrics = {"val_accuracy": accuracy}
        if epoch == EPOCHS - 1:  # the last result carries the per-stage importance
            metrics.update(
                stage_importance(stage_features_of(model, images), labels.numpy(), criterion="plsvip")
            )
            metrics["last_result"] = True  # optional: the searcher decides without waiting
        tune.report(metrics)


logging.basicConfig(level=logging.INFO, format="%(message)s")  # the searcher's decisions
searcher = StageWiseSearcher(initial_depths=(1, 1), delta=1, iterations=2)
tuner = tune.Tuner(
    train,
    tune_config=tune.TuneConfig(
        search_alg=searcher, num_samples=searcher.max_trials, max_concurrent_trials=2
    ),  # A and T of an iteration side by side
    run_config=tune.RunConfig(
        name="own-trainable", verbose=0, storage_path=str(Path("own_trainable_results").resolve())
    ),
)
results = tuner.fit()
print(f"found {searcher.final_depths} after {len(results)} trained networks")
for step in searcher.history:
    print(f"iteration {step['iteration']}: A {step['depths_a']} vs T {step['depths_t']} -> {step['grown']}")
