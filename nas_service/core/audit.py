"""Does a criterion's growth decision predict what growing a stage does to accuracy?  The numbers
of ``stagewise-nas audit``, as pure functions of what its trained networks measured.

For a network A, every seed j trains A, T (every stage deepened) and each single-stage child C_i
(A with only stage i deepened), paired: the same init seed and batch order.  Then, per stage i:

* the accuracy gain of growing it, g_ij = acc(C_ij) - acc(A_j), with a t-interval over seeds;
* per criterion, the decision statistic d_ij = score_i(T_j) - score_i(A_j), the number the
  growth rule compares with 0 (it grows stage i when d_ij > 0).

A stage whose gain interval excludes 0 is *decided*: growing it helps (or hurts) beyond the
spread of training.  Each seed's decision on a decided stage is a *cell*; it agrees when it grows
a stage that growing helps, or keeps one that growing hurts.  A criterion must be judged against
the two constant rules on the same cells (when growing helps almost everywhere, "always grow"
agrees almost always) and by the balanced agreement, the mean of its rates on the cells where
growing helped and where it hurt, which is 0.5 for either constant rule and for coin flips.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import stats

from nas_service.core.growth import deepen_all, deepen_stage
from nas_service.core.trials import child_role, run_name
from trainables.trial_config import INIT_SEED_KEY, REPLICATE_KEY, trial_config

CONFIDENCE_LEVEL = 0.95


@dataclass(frozen=True)
class AuditedA:
    """One audited architecture A and the paired init seeds its networks train from.

    ``iteration``: the search iteration whose A it is (0: an A audited on its own); ``reused``:
    the networks a finished search trained already (audit run name -> that search's MLflow run
    id), which the audit scores but does not train again."""

    depths: tuple[int, ...]
    seeds: tuple[int, ...]
    iteration: int = 0
    reused: Mapping[str, str] = field(default_factory=dict)

    def networks(self, delta: int) -> dict[str, list[dict]]:
        """Per role (``A``, each child's ``grow-sN``, ``T``; cheapest first) the trial config of
        every seed, in seed order: paired, a seed gives each network its init seed."""
        roles = {
            "A": self.depths,
            **{
                child_role(stage): deepen_stage(self.depths, stage, delta)
                for stage in range(len(self.depths))
            },
            "T": deepen_all(self.depths, delta),
        }
        return {
            role: [
                trial_config(depths, role, self.iteration, **{INIT_SEED_KEY: seed, REPLICATE_KEY: index + 1})
                for index, seed in enumerate(self.seeds)
            ]
            for role, depths in roles.items()
        }

    def names(self, delta: int) -> dict[str, list[str]]:
        """Per role the run name of every seed's network (``networks``)."""
        return {
            role: [run_name(config) for config in configs] for role, configs in self.networks(delta).items()
        }


@dataclass(frozen=True)
class Interval:
    """Mean of paired per-seed values and its t-interval (``None`` bounds with one seed)."""

    mean: float
    low: float | None
    high: float | None

    @property
    def excludes_zero(self) -> bool:
        return self.low is not None and (self.low > 0 or self.high < 0)

    def to_dict(self) -> dict:
        return asdict(self)


def seed_interval(values: Sequence[float], level: float = CONFIDENCE_LEVEL) -> Interval:
    """The mean of ``values`` (one per seed) and its two-sided t-interval at ``level``: the
    seeds are few, so the normal interval would claim too much."""
    values = np.asarray(values, dtype=float)
    mean = float(values.mean())
    if len(values) < 2:
        return Interval(mean, None, None)
    half = float(stats.t.ppf((1 + level) / 2, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values)))
    return Interval(mean, mean - half, mean + half)


@dataclass(frozen=True)
class Agreement:
    """How often a rule's decisions match the decided stages' effect, cell by cell."""

    cells: int  # seeds x decided stages
    agreeing: int  # cells whose decision matches the stage's effect
    rate: float | None  # agreeing / cells (None without decided stages)
    balanced: float | None  # mean of the rates on helped and hurt cells (one kind: its rate)
    always_grow: float | None  # the constant rules on the same cells
    never_grow: float | None
    undecided_stages: int  # stages whose gain interval includes 0

    def to_dict(self) -> dict:
        return asdict(self)


def agreement(
    differences: Sequence[Sequence[float]], gains: Sequence[Sequence[float]], level: float = CONFIDENCE_LEVEL
) -> Agreement:
    """Agreement of the decisions ``differences[i][j] > 0`` (stage i, seed j) with the effect of
    growing stage i, the sign of its mean gain, on the stages whose gain interval over seeds
    (``gains[i]``) excludes 0."""
    differences, gains = np.asarray(differences, float), np.asarray(gains, float)
    if differences.shape != gains.shape:
        raise ValueError(
            f"score differences {differences.shape} and accuracy gains "
            f"{gains.shape} must both be (stages, seeds)"
        )
    decided = [i for i, stage in enumerate(gains) if seed_interval(stage, level).excludes_zero]
    helps = {i: gains[i].mean() > 0 for i in decided}
    grows = differences > 0
    rows = [(bool(helps[i]), bool(decision)) for i in decided for decision in grows[i]]
    undecided = len(gains) - len(decided)
    if not rows:
        return Agreement(0, 0, None, None, None, None, undecided)
    agree = [helped == grew for helped, grew in rows]
    by_kind = [
        np.mean([a for a, (helped, _) in zip(agree, rows, strict=True) if helped == kind])
        for kind in (True, False)
        if any(helped == kind for helped, _ in rows)
    ]
    always = float(np.mean([helped for helped, _ in rows]))
    return Agreement(
        len(rows),
        int(sum(agree)),
        float(np.mean(agree)),
        float(np.mean(by_kind)),
        always,
        1.0 - always,
        undecided,
    )


def rank_correlation(
    differences: Sequence[Sequence[float]], gains: Sequence[Sequence[float]]
) -> float | None:
    """Spearman's rho across stages between the mean score difference and the mean gain: does
    the criterion rank the stages as growing them ranks accuracy?  ``None`` when either is
    constant across stages (or there is one stage)."""
    mean_differences = np.mean(differences, axis=1)
    mean_gains = np.mean(gains, axis=1)
    if len(mean_gains) < 2 or np.ptp(mean_differences) == 0 or np.ptp(mean_gains) == 0:
        return None
    return float(stats.spearmanr(mean_differences, mean_gains).statistic)
