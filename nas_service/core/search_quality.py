"""How good a search's networks are for their cost: the figures of ``compare``'s study.

Pure functions over plain numbers and tables (no Ray, no MLflow), so each figure can be checked
by hand:

- ``hypervolume``: the area that a method's validation-accuracy-vs-MACs front dominates up to a
  stated reference point.  MACs are divided by the reference MACs, so a front of one network of
  accuracy a and MACs c covers ``(1 - c / ref_macs) * (a - ref_accuracy)``; larger is better and
  the largest possible value is ``1 - ref_accuracy``.
- ``uniform_gap``: a network's test accuracy minus that of the uniform network of the same MACs,
  interpolated linearly in MACs between the two nearest uniform networks trained beside it.
  Positive means the searched depths beat the hand-made alternative of equal cost.
- ``mean_and_spread``: mean and standard deviation (ddof 0) over seeds, per method.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from nas_service.core.pareto import pareto_front


def hypervolume(
    macs: Sequence[float], accuracies: Sequence[float], ref_macs: float, ref_accuracy: float = 0.0
) -> float:
    """Area dominated by the points' Pareto front (lower MACs, higher accuracy) within
    ``[0, ref_macs] x [ref_accuracy, 1]``, MACs in units of ``ref_macs``.  Points costlier than
    ``ref_macs`` or less accurate than ``ref_accuracy`` add nothing."""
    if ref_macs <= 0:
        raise ValueError(f"reference MACs {ref_macs} must be positive")
    inside = [
        (c, a)
        for c, a in zip(macs, accuracies, strict=True)
        if np.isfinite(c) and np.isfinite(a) and c <= ref_macs and a >= ref_accuracy
    ]
    if not inside:
        return 0.0
    costs, accs = [c for c, _ in inside], [a for _, a in inside]
    area, covered = 0.0, ref_accuracy
    for index in pareto_front(costs, accs):  # by increasing MACs, so increasing accuracy
        area += (1 - costs[index] / ref_macs) * (accs[index] - covered)
        covered = accs[index]
    return area


@dataclass(frozen=True)
class UniformGap:
    """``gap``: test accuracy minus the uniform accuracy at equal MACs (NaN when no uniform
    network was trained); ``between``: the uniform networks it was read from; ``note``: how."""

    gap: float
    uniform_accuracy: float
    between: tuple[str, ...]
    note: str


def uniform_gap(macs: float, accuracy: float, uniform: pd.DataFrame) -> UniformGap:
    """``uniform``: one row per uniform network with ``depths``, ``macs`` and ``test_accuracy``.

    Between the nearest cheaper and the nearest costlier uniform network the accuracy is
    interpolated linearly in MACs; a network cheaper or costlier than all of them is compared
    with the nearest one, and the note says so."""
    rows = uniform.dropna(subset=["macs", "test_accuracy"]).sort_values("macs")
    if rows.empty:
        return UniformGap(float("nan"), float("nan"), (), "no uniform network trained")
    same = rows[rows["macs"] == macs]
    if not same.empty:
        value = float(same["test_accuracy"].mean())
        return UniformGap(accuracy - value, value, tuple(same["depths"]), "equal MACs")
    below, above = rows[rows["macs"] < macs], rows[rows["macs"] > macs]
    if below.empty or above.empty:
        nearest = (above if below.empty else below).iloc[0 if below.empty else -1]
        side = "cheaper" if below.empty else "costlier"
        value = float(nearest["test_accuracy"])
        return UniformGap(
            accuracy - value, value, (nearest["depths"],), f"{side} than every uniform network: nearest one"
        )
    low, high = below.iloc[-1], above.iloc[0]
    weight = (macs - low["macs"]) / (high["macs"] - low["macs"])
    value = float(low["test_accuracy"] + weight * (high["test_accuracy"] - low["test_accuracy"]))
    return UniformGap(accuracy - value, value, (low["depths"], high["depths"]), "interpolated")


def mean_and_spread(rows: pd.DataFrame, columns: Sequence[str], by: str = "method") -> pd.DataFrame:
    """Per ``by`` group (in order of first appearance): ``<column> mean`` and ``<column> std``
    (ddof 0: the spread of the seeds run, not an estimate of a population's) and ``seeds``."""
    grouped = rows.groupby(by, sort=False)
    table = grouped.size().rename("seeds").to_frame()
    for column in columns:
        values = grouped[column]
        table[f"{column} mean"] = values.mean()
        table[f"{column} std"] = values.std(ddof=0)
    return table.reset_index()
