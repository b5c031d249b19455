"""The audit's numbers against hand-computed values."""

import numpy as np
import pytest
from scipy import stats

from nas_service.core.audit import agreement, rank_correlation, seed_interval


def test_seed_interval_is_the_t_interval_of_the_mean():
    interval = seed_interval([0.01, 0.03, 0.02])
    # mean 0.02, sd 0.01, t(0.975, 2) = 4.3027: half width 4.3027 * 0.01 / sqrt(3) = 0.024841
    assert interval.mean == pytest.approx(0.02)
    assert interval.high - interval.mean == pytest.approx(0.024841, rel=1e-4)
    assert not interval.excludes_zero
    assert seed_interval([0.02, 0.021, 0.022]).excludes_zero
    assert seed_interval([-0.02, -0.021, -0.022]).excludes_zero
    single = seed_interval([0.5])
    assert (single.mean, single.low, single.high, single.excludes_zero) == (0.5, None, None, False)


def test_agreement_counts_cells_of_decided_stages_beside_the_constant_rules():
    gains = [
        [0.020, 0.021, 0.022],  # stage 1: growing helps (interval above 0)
        [-0.010, -0.011, -0.012],  # stage 2: growing hurts
        [0.030, -0.030, 0.001],
    ]  # stage 3: undecided
    differences = [
        [0.1, -0.1, 0.2],  # grows, keeps, grows: 2 of 3 agree with "helps"
        [-0.1, -0.2, 0.3],  # keeps, keeps, grows: 2 of 3 agree with "hurts"
        [5.0, 5.0, 5.0],
    ]  # not counted
    result = agreement(differences, gains)
    assert (result.cells, result.agreeing, result.undecided_stages) == (6, 4, 1)
    assert result.rate == pytest.approx(4 / 6)
    assert result.balanced == pytest.approx((2 / 3 + 2 / 3) / 2)
    assert (result.always_grow, result.never_grow) == (0.5, 0.5)
    # the constant rules themselves: balanced agreement 1/2 whatever the cells
    always = agreement(np.ones((3, 3)), gains)
    assert (always.rate, always.balanced) == (0.5, 0.5)


def test_agreement_when_growing_helps_everywhere_and_when_nothing_is_decided():
    gains = [[0.02, 0.021, 0.022], [0.03, 0.031, 0.032]]
    result = agreement([[1, 1, -1], [1, 1, 1]], gains)
    assert (result.rate, result.balanced, result.always_grow, result.never_grow) == (
        pytest.approx(5 / 6),
        pytest.approx(5 / 6),
        1.0,
        0.0,
    )
    nothing = agreement([[1, -1]], [[0.1, -0.1]])
    assert (nothing.cells, nothing.rate, nothing.balanced, nothing.undecided_stages) == (0, None, None, 1)
    with pytest.raises(ValueError, match="must both be"):
        agreement([[1, 2]], [[1, 2, 3]])


def test_rank_correlation_across_stages():
    differences = [[0.1, 0.3], [0.5, 0.7], [-0.2, 0.0]]  # means 0.2, 0.6, -0.1
    gains = [[0.01, 0.01], [0.00, 0.01], [0.03, 0.02]]  # means 0.01, 0.005, 0.025
    expected = stats.spearmanr([0.2, 0.6, -0.1], [0.01, 0.005, 0.025]).statistic
    assert rank_correlation(differences, gains) == pytest.approx(expected) == pytest.approx(-1.0)
    assert rank_correlation([[1.0], [1.0]], [[0.1], [0.2]]) is None
