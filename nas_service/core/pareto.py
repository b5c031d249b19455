"""Pareto fronts of (cost, accuracy) points: lower cost and higher accuracy are better."""

from __future__ import annotations

from collections.abc import Sequence


def pareto_front(costs: Sequence[float], accuracies: Sequence[float]) -> list[int]:
    """Indices of the points no other point dominates, by increasing cost.

    A point is dominated when another has cost <= and accuracy >= with one of them strict.  Of
    exact duplicates the first is kept.
    """
    if len(costs) != len(accuracies):
        raise ValueError(f"{len(costs)} costs but {len(accuracies)} accuracies")
    order = sorted(range(len(costs)), key=lambda i: (costs[i], -accuracies[i], i))
    front, best_accuracy = [], float("-inf")
    for index in order:
        if accuracies[index] > best_accuracy:
            front.append(index)
            best_accuracy = accuracies[index]
    return front
