import numpy as np
import pytest
import torch

from trainables.augment import random_crop, random_flip
from trainables.datasets import load_dataset
from trainables.datasets.statistics import channel_moments
from trainables.features import pool_stage_output, scoring_sample, stage_features
from trainables.models import build_model
from trainables.protocol import PRESETS, TrainingConfig
from trainables.spec import ArchSpec
from trainables.training import (
    CandidateTrainer,
    ImageBatches,
    channel_stats,
    evaluate,
    learning_rate,
    make_optimizer,
    milestone_epochs,
)


def test_paper_schedule_divides_by_ten_at_100_and_150():
    paper = PRESETS["paper"]
    assert [learning_rate(paper, e) for e in (0, 99, 100, 149, 150, 199)] == pytest.approx(
        [0.01, 0.01, 0.001, 0.001, 0.0001, 0.0001]
    )
    assert milestone_epochs(paper) == [100, 150]


@pytest.mark.parametrize(
    "epochs,expected",
    [
        # 50% and 75% of 3 both round to epoch 2: the second drop moves to epoch 3, past the end
        (3, [1, 1, 0.1]),
        (4, [1, 1, 0.1, 0.01]),
        (10, [1] * 5 + [0.1] * 3 + [0.01] * 2),
        (1, [1]),
        (2, [1, 0.1]),
    ],
)
def test_step_milestones_never_coincide(epochs, expected):
    config = TrainingConfig(epochs=epochs, lr=0.02)
    assert [learning_rate(config, e) for e in range(epochs)] == pytest.approx(
        [0.02 * factor for factor in expected]
    )
    assert learning_rate(config, epochs + 5) == learning_rate(config, epochs - 1)  # a continuation


def test_200_epochs_per_epoch_and_cosine():
    step = TrainingConfig(epochs=200, lr=0.1)
    rates = [learning_rate(step, e) for e in range(200)]
    assert rates == pytest.approx([0.1] * 100 + [0.01] * 50 + [0.001] * 50)
    cosine = TrainingConfig(epochs=4, lr=0.1, schedule="cosine")
    # lr (1 + cos(pi e / 4)) / 2 for e = 0..3: 1, (1 + sqrt(2)/2)/2, 1/2, (1 - sqrt(2)/2)/2
    assert [learning_rate(cosine, e) for e in range(4)] == pytest.approx(
        [0.1, 0.1 * 0.853553, 0.05, 0.1 * 0.146447], rel=1e-5
    )
    assert learning_rate(cosine, 9) == learning_rate(cosine, 3)


def test_crop_moves_content_by_at_most_the_padding():
    generator = torch.Generator().manual_seed(0)
    images = torch.arange(2 * 8 * 8, dtype=torch.float32).reshape(2, 1, 8, 8) + 1
    cropped = random_crop(images, 2, generator)
    assert cropped.shape == images.shape
    for original, shifted in zip(images, cropped, strict=True):
        matches = [
            (dy, dx)
            for dy in range(-2, 3)
            for dx in range(-2, 3)
            if torch.equal(shifted[0, 2:6, 2:6], original[0, 2 + dy : 6 + dy, 2 + dx : 6 + dx])
        ]
        assert len(matches) == 1


def test_flip_mirrors_about_half_the_images():
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(400, 1, 4, 4)
    flipped = random_flip(images, generator)
    mirrored = (flipped == images.flip(3)).flatten(1).all(1)
    kept = (flipped == images).flatten(1).all(1)
    assert bool((mirrored | kept).all()) and 150 < int(mirrored.sum()) < 250


def test_scoring_sample_is_stratified_and_depends_only_on_the_seed():
    labels = np.repeat(np.arange(4), 50)
    first, again = scoring_sample(labels, 40, seed=1), scoring_sample(labels, 40, seed=1)
    np.testing.assert_array_equal(first, again)
    assert np.bincount(labels[first]).tolist() == [10, 10, 10, 10]
    assert len(scoring_sample(labels, 1000, seed=1)) == 200


@pytest.mark.parametrize("size,features", [(32, [256, 128, 64]), (8, [16, 32, 64]), (28, [256, 128, 64])])
def test_stage_features_pool_one_cell_per_8x8_pixels(size, features):
    model = build_model(ArchSpec(depths=(1, 1, 1), in_channels=1, image_size=size))
    images = np.random.default_rng(0).integers(0, 256, (5, 1, size, size), dtype=np.uint8)
    data = ImageBatches(images, np.zeros(5, np.int64), torch.zeros(1), torch.ones(1), torch.device("cpu"))
    stages = stage_features(model, data, batch_size=2)
    assert [s.shape for s in stages] == [(5, f) for f in features]
    assert all(s.dtype == np.float32 for s in stages)  # half the bytes through the object store
    whole = stage_features(model, data, batch_size=5)  # batches change nothing (eval mode)
    assert all(np.allclose(a, b, atol=1e-6) for a, b in zip(stages, whole, strict=True))


def authors_pooling(output):
    """The authors' 8x8/stride-8 windows (capped at the map), as this project pooled before."""
    window = min(8, output.shape[-2], output.shape[-1])
    return torch.nn.functional.avg_pool2d(output, window, window).permute(0, 2, 3, 1).flatten(1)


@pytest.mark.parametrize("side", [14, 28, 7, 15])
def test_pooling_sees_the_bottom_right_corner_of_every_map(side):
    """The authors' windows left the edges of 14x14 and 28x28 maps out: a corner pixel did not
    change a single feature.  Every pixel now counts, with its cell's share."""
    corner = torch.zeros(1, 2, side, side)
    corner[0, 1, -1, -1] = 1.0
    pooled = pool_stage_output(corner)
    cells = -(-side // 8)
    assert pooled.shape == (1, cells * cells * 2)
    # 14 -> 2x2 cells of 7x7 pixels, 28 -> 4x4 of 7x7, 7 -> 1 of 7x7, 15 -> 2x2 of 8x8 (overlapping)
    rows = {14: 7, 28: 7, 7: 7, 15: 8}[side]
    expected = torch.zeros(cells, cells, 2)
    expected[-1, -1, 1] = 1.0 / rows**2  # the last cell's average over its rows x rows pixels
    assert torch.allclose(pooled[0], expected.flatten())
    if side in (14, 28):  # what the authors' windows gave: the corner is invisible to them
        assert not authors_pooling(corner).any()


@pytest.mark.parametrize("side", [32, 16, 8, 4])
def test_pooling_of_multiples_of_8_and_small_maps_is_the_authors(side):
    output = torch.randn(3, 5, side, side, generator=torch.Generator().manual_seed(side))
    assert torch.equal(pool_stage_output(output), authors_pooling(output))


def test_pooling_is_an_8x8_average_flattened_as_hwc():
    output = torch.arange(2 * 16 * 16, dtype=torch.float32).reshape(1, 2, 16, 16)
    pooled = pool_stage_output(output)
    assert pooled.shape == (1, 2 * 2 * 2)
    assert pooled[0, 0] == output[0, 0, :8, :8].mean()  # (h=0, w=0, c=0)
    assert pooled[0, 1] == output[0, 1, :8, :8].mean()  # (h=0, w=0, c=1)
    assert pooled[0, 2] == output[0, 0, :8, 8:].mean()  # (h=0, w=1, c=0)


def test_a_few_epochs_learn_digits():
    torch.manual_seed(0)
    data = load_dataset("digits", seed=0)
    mean, std = channel_stats(data.x_train)
    train = ImageBatches(data.x_train, data.y_train, mean, std, torch.device("cpu"))
    val = train.sibling(data.x_val, data.y_val)
    model = build_model(ArchSpec(depths=(1, 1, 1), in_channels=1, image_size=8))
    trainer = CandidateTrainer(model, TrainingConfig(epochs=4, lr=0.05, batch_size=64))
    before = evaluate(model, val)
    generator = torch.Generator()
    losses = [trainer.train_epoch(train, e, generator, flip=False) for e in range(4)]
    assert losses[-1] < losses[0]
    assert evaluate(model, val) > max(0.8, before + 0.3)


def test_weight_decay_skips_biases_and_batch_norm():
    model = build_model(ArchSpec(depths=(1, 1, 1)))
    decayed, other = make_optimizer(model, PRESETS["quick"]).param_groups
    assert decayed["weight_decay"] > 0 and other["weight_decay"] == 0
    assert all(p.ndim > 1 for p in decayed["params"]) and all(p.ndim == 1 for p in other["params"])


def test_channel_moments_match_numpy_over_chunks():
    images = np.random.default_rng(0).integers(0, 256, (37, 3, 5, 5), dtype=np.uint8)
    mean, std = channel_moments(images, chunk=8)
    scaled = images / 255.0
    assert mean == pytest.approx(scaled.mean(axis=(0, 2, 3)).tolist(), rel=1e-12)
    assert std == pytest.approx(scaled.std(axis=(0, 2, 3)).tolist(), rel=1e-9)
    tensors = channel_stats(images)  # the same numbers as float32 tensors
    assert [tensor.dtype for tensor in tensors] == [torch.float32] * 2
    assert tensors[0].tolist() == torch.tensor(mean, dtype=torch.float32).tolist()
    assert tensors[1].tolist() == torch.tensor(std, dtype=torch.float32).tolist()
