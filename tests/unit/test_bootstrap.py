"""The paired bootstrap behind each decision's confidence, with a real criterion."""

import numpy as np
import pytest

from nas_service.core.growth import stage_confidence, winning_stages
from scoring.bootstrap import bootstrap_indices, bootstrap_stage_scores
from scoring.criteria import stage_score


def features_with_signal(informative: int, total: int = 20, samples: int = 300, seed: int = 0):
    """Class-shifted features in the first ``informative`` columns, noise in the rest."""
    rng = np.random.default_rng(seed)
    labels = np.arange(samples) % 3
    x = rng.normal(size=(samples, total))
    x[:, :informative] += 1.5 * labels[:, None]
    return x, labels


def test_resamples_keep_every_class_count_and_repeat_for_the_same_seed():
    labels = np.array([0] * 5 + [1] * 3 + [2] * 7)
    rows = bootstrap_indices(labels, 40, seed=3)
    assert rows.shape == (40, 15)
    for row in rows:
        assert np.array_equal(np.bincount(labels[row]), [5, 3, 7])
        assert np.array_equal(labels[row], labels)  # each position keeps its class
    assert np.array_equal(rows, bootstrap_indices(labels, 40, seed=3))
    assert not np.array_equal(rows, bootstrap_indices(labels, 40, seed=4))
    assert not np.array_equal(rows, bootstrap_indices(labels, 40, seed=3, chunk=1))


def test_identical_features_in_a_and_t_give_one_half():
    x, y = features_with_signal(4)
    a = bootstrap_stage_scores(x, y, "plsvip", 30, seed=0)
    t = bootstrap_stage_scores(x.copy(), y, "plsvip", 30, seed=0)
    assert stage_confidence([a], [t]) == [0.5]


@pytest.mark.parametrize("criterion", ["plsvip", "ilfs"])
def test_t_with_a_strong_extra_signal_gives_about_one(criterion):
    x_a, y = features_with_signal(2)
    x_t, _ = features_with_signal(20, seed=1)
    assert stage_score(x_t, y, criterion) > stage_score(x_a, y, criterion)
    (confidence,) = stage_confidence(
        [bootstrap_stage_scores(x_a, y, criterion, 30, seed=0)],
        [bootstrap_stage_scores(x_t, y, criterion, 30, seed=0)],
    )
    assert confidence >= 0.95


def test_min_confidence_blocks_a_narrow_win_of_the_strict_rule():
    """T = A with one sample's noise changed: it may beat A by a hair, never with confidence."""
    x_a, y = features_with_signal(4)
    rng = np.random.default_rng(5)
    x_t = x_a.copy()
    x_t[:, 4:] += 0.05 * rng.normal(size=x_t[:, 4:].shape)
    score_a, score_t = stage_score(x_a, y, "plsvip"), stage_score(x_t, y, "plsvip")
    boot_a = bootstrap_stage_scores(x_a, y, "plsvip", 40, seed=0)
    boot_t = bootstrap_stage_scores(x_t, y, "plsvip", 40, seed=0)
    confidence = stage_confidence([boot_a], [boot_t])
    # whichever direction the hair goes, make it a strict win for T
    scores_a, scores_t = sorted([score_a, score_t])
    if score_t < score_a:
        confidence = [1 - confidence[0]]
    assert winning_stages([scores_a], [scores_t]) == [True]
    assert 0.1 < confidence[0] < 0.9
    assert winning_stages([scores_a], [scores_t], confidence, min_confidence=0.95) == [False]
