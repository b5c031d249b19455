import pytest

from nas_service.core.pareto import pareto_front


def test_hand_made_front():
    #            0     1     2     3     4     5
    costs = [1.0, 2.0, 2.0, 3.0, 0.5, 4.0]
    accs = [0.80, 0.85, 0.90, 0.88, 0.70, 0.95]
    # 1 is dominated by 2 (same cost, better), 3 by 2 (cheaper and better)
    assert pareto_front(costs, accs) == [4, 0, 2, 5]


def test_duplicates_and_single_points():
    assert pareto_front([1, 1], [0.5, 0.5]) == [0]
    assert pareto_front([3], [0.1]) == [0]
    assert pareto_front([], []) == []


def test_cheaper_but_worse_points_stay_on_the_front():
    assert pareto_front([5, 4, 3, 2, 1], [0.9, 0.8, 0.7, 0.6, 0.5]) == [4, 3, 2, 1, 0]


def test_lengths_must_match():
    with pytest.raises(ValueError, match="2 costs but 1"):
        pareto_front([1, 2], [0.5])
