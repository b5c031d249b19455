import pytest

from nas_service.growth import deepen_all, grow_depths


def test_t_deepens_every_stage():
    assert deepen_all((6, 8, 6), 2) == (8, 10, 8)
    assert deepen_all((2, 3, 2), 1) == (3, 4, 3)


@pytest.mark.parametrize("scores_a,scores_t,expected", [
    ([0.5, 0.5, 0.5], [0.6, 0.6, 0.6], (8, 10, 8)),   # every stage improves
    ([0.5, 0.5, 0.5], [0.4, 0.4, 0.4], (6, 8, 6)),    # none improves
    ([0.5, 0.5, 0.5], [0.5, 0.5, 0.5], (6, 8, 6)),    # ties do not grow: strict >
    ([0.9, 0.2, 0.7], [0.8, 0.3, 0.7], (6, 10, 6)),   # only the middle stage
    ([0.1, 0.9, 0.1], [0.1 + 1e-12, 0.9, 0.0], (8, 8, 6)),  # no tolerance
])
def test_stage_grows_iff_t_scores_strictly_higher(scores_a, scores_t, expected):
    assert grow_depths((6, 8, 6), scores_a, scores_t, 2) == expected


def test_growth_uses_delta():
    assert grow_depths((2, 3, 2), [0, 0, 0], [1, 0, 1], 1) == (3, 3, 3)


def test_authors_stored_trajectory_is_reproducible_by_the_rule():
    # METHOD_NOTES section 3: [6,8,6] -> [8,10,6] -> [10,12,6] -> [10,12,8] -> [10,14,8].
    trajectory = [(6, 8, 6), (8, 10, 6), (10, 12, 6), (10, 12, 8), (10, 14, 8)]
    for before, after in zip(trajectory, trajectory[1:]):
        grew = [b != a for b, a in zip(before, after)]
        scores_t = [1.0 if g else 0.0 for g in grew]
        assert grow_depths(before, [0.5] * 3, scores_t, 2) == after


def test_mismatched_lengths_name_the_values():
    with pytest.raises(ValueError, match=r"\[6, 6\]"):
        grow_depths((6, 6), [0.1, 0.2, 0.3], [0.1, 0.2, 0.3], 2)
