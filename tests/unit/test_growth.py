import itertools

import pytest

from nas_service.core.growth import (
    deepen_all,
    grow_depths,
    grow_within_limits,
    stage_confidence,
    winning_stages,
)


def test_t_deepens_every_stage():
    assert deepen_all((6, 8, 6), 2) == (8, 10, 8)
    assert deepen_all((2, 3, 2), 1) == (3, 4, 3)


@pytest.mark.parametrize(
    "scores_a,scores_t,expected",
    [
        ([0.5, 0.5, 0.5], [0.6, 0.6, 0.6], (8, 10, 8)),  # every stage improves
        ([0.5, 0.5, 0.5], [0.4, 0.4, 0.4], (6, 8, 6)),  # none improves
        ([0.5, 0.5, 0.5], [0.5, 0.5, 0.5], (6, 8, 6)),  # ties do not grow: strict >
        ([0.9, 0.2, 0.7], [0.8, 0.3, 0.7], (6, 10, 6)),  # only the middle stage
        ([0.1, 0.9, 0.1], [0.1 + 1e-12, 0.9, 0.0], (8, 8, 6)),  # no tolerance
    ],
)
def test_stage_grows_iff_t_scores_strictly_higher(scores_a, scores_t, expected):
    assert grow_depths((6, 8, 6), scores_a, scores_t, 2) == expected


def test_growth_uses_delta():
    assert grow_depths((2, 3, 2), [0, 0, 0], [1, 0, 1], 1) == (3, 3, 3)


def test_authors_stored_trajectory_is_reproducible_by_the_rule():
    # the trajectory stored with the authors' code (ResNet, PLS, m0 6, delta 2)
    trajectory = [(6, 8, 6), (8, 10, 6), (10, 12, 6), (10, 12, 8), (10, 14, 8)]
    for before, after in itertools.pairwise(trajectory):
        grew = [b != a for b, a in zip(before, after, strict=True)]
        scores_t = [1.0 if g else 0.0 for g in grew]
        assert grow_depths(before, [0.5] * 3, scores_t, 2) == after


def test_mismatched_lengths_name_the_values():
    with pytest.raises(ValueError, match=r"\[6, 6\]"):
        grow_depths((6, 6), [0.1, 0.2, 0.3], [0.1, 0.2, 0.3], 2)


def test_confidence_counts_paired_wins_and_half_of_ties():
    a = [[1.0, 2.0, 3.0, 4.0], [5.0, 5.0, 5.0, 5.0]]
    t = [[1.5, 1.0, 3.0, 5.0], [5.0, 5.0, 5.0, 5.0]]
    # stage 1: replicates 1 and 4 win, 3 ties, 2 loses -> (2 + 0.5) / 4; stage 2: all tie
    assert stage_confidence(a, t) == [0.625, 0.5]


def test_confidence_needs_paired_replicates():
    with pytest.raises(ValueError, match="same number of replicates"):
        stage_confidence([[1.0, 2.0]], [[1.0]])


def test_min_confidence_blocks_a_growth_the_strict_rule_makes():
    scores_a, scores_t = [0.50, 0.50], [0.51, 0.60]
    assert winning_stages(scores_a, scores_t) == [True, True]
    assert winning_stages(scores_a, scores_t, [0.55, 0.99], min_confidence=0.9) == [False, True]
    # a confident T that does not score higher still does not grow
    assert winning_stages([0.5], [0.4], [0.99], min_confidence=0.9) == [False]


def linear_costs(per_module):
    """MACs linear in the modules of each stage, like a residual network's."""
    return lambda depths: {
        "macs": sum(c * m for c, m in zip(per_module, depths, strict=True)),
        "params": float(sum(depths)),
    }


def test_a_limit_that_admits_one_of_two_winners_grows_the_better_gain_per_mac():
    costs = linear_costs([10, 10, 40])  # growing stage 3 costs 4x stage 1
    depths, wins = (2, 2, 2), [True, False, True]
    base = costs(depths)["macs"]  # 120
    # room for one growth only (+10 or +40 of 45); stage 3's gain 0.3 per 40 MACs loses to
    # stage 1's 0.1 per 10 MACs
    growth = grow_within_limits(depths, wins, [0.1, -0.2, 0.3], 1, costs, {"macs": base + 45})
    assert growth.depths == (3, 2, 2) and growth.grew
    assert growth.held_back == (2,) and growth.bound_by == ("macs",)
    # stage 3 per MAC is better now: it goes first, and stage 1 no longer fits after it
    growth = grow_within_limits(depths, wins, [0.01, -0.2, 0.3], 1, costs, {"macs": base + 45})
    assert growth.depths == (2, 2, 3) and growth.held_back == (0,)


def test_a_limit_that_admits_nothing_reports_what_bound_it():
    growth = grow_within_limits(
        (2, 2), [True, True], [0.1, 0.1], 2, linear_costs([10, 10]), {"macs": 45, "params": 100}
    )
    assert growth.depths == (2, 2) and not growth.grew and growth.bound_by == ("macs",)


def test_without_limits_every_winner_grows():
    growth = grow_within_limits((2, 2, 2), [True, False, True], [0.1, 0.0, 0.2], 2, None, {})
    assert growth.depths == (4, 2, 4) and growth.held_back == ()
