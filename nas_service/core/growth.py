"""The growth rule of Stage-Wise NAS (Jordao et al., ICPR 2020, Algorithm 1), as pure functions,
with the two additions this project makes to it (docs/method.md): a bootstrap confidence that a
stage's score in T really beats A's, and growth that keeps the grown network within resource
limits."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

# what a search does after an iteration in which no stage grew (docs/method.md)
NO_GROWTH_POLICIES = ("retrain", "stop")


def deepen_all(depths: Sequence[int], delta: int) -> tuple[int, ...]:
    """T of an iteration: every stage of A deepened by ``delta`` (Algorithm 1, line 3)."""
    return tuple(int(m) + delta for m in depths)


def _check_lengths(depths: Sequence[int], *per_stage: Sequence | None) -> None:
    if any(values is not None and len(values) != len(depths) for values in per_stage):
        raise ValueError(
            f"depths {list(depths)} and the per-stage values "
            f"{[list(v) for v in per_stage if v is not None]} must have one entry "
            "per stage"
        )


def deepen_stage(depths: Sequence[int], stage: int, delta: int) -> tuple[int, ...]:
    """``depths`` with stage ``stage`` (0-based) deepened by ``delta``."""
    return tuple(int(m) + delta if i == stage else int(m) for i, m in enumerate(depths))


def stage_confidence(
    bootstrap_a: Sequence[Sequence[float]], bootstrap_t: Sequence[Sequence[float]]
) -> list[float]:
    """Per stage, the probability that T's score beats A's: the share of paired bootstrap
    replicates (the same resampled images for A and T) in which T scores higher, ties counting
    one half.  Identical features therefore give exactly 0.5."""
    if len(bootstrap_a) != len(bootstrap_t):
        raise ValueError(
            f"bootstrap scores of A ({len(bootstrap_a)} stages) and T "
            f"({len(bootstrap_t)} stages) must cover the same stages"
        )
    confidence = []
    for a, t in zip(bootstrap_a, bootstrap_t, strict=True):
        a, t = np.asarray(a, dtype=float), np.asarray(t, dtype=float)
        if a.shape != t.shape or a.size == 0:
            raise ValueError(
                f"paired bootstrap scores need the same number of replicates, got "
                f"{a.size} for A and {t.size} for T"
            )
        confidence.append(float(np.mean(t > a) + 0.5 * np.mean(t == a)))
    return confidence


def seed_and_image_confidence(
    bootstrap_a: Sequence[Sequence[Sequence[float]]],
    bootstrap_t: Sequence[Sequence[Sequence[float]]],
    rng: np.random.Generator,
) -> list[float]:
    """Per stage, the probability that T's score beats A's on average over the init seeds,
    from paired bootstrap replicates of every seed's A and T (``[seed][stage][replicate]``).

    Replicate b resamples the seeds with replacement (the same draw for every stage) and averages
    their paired image-replicate differences T_jb - A_jb: the spread covers training randomness
    (which network an init seed gives) as well as the choice of images.  P is the share of
    replicates whose mean difference is positive, ties counting one half; with one seed it is
    exactly ``stage_confidence``'s."""
    a, t = np.asarray(bootstrap_a, dtype=float), np.asarray(bootstrap_t, dtype=float)
    if a.shape != t.shape or a.ndim != 3 or a.size == 0:
        raise ValueError(
            f"paired bootstrap scores of A {a.shape} and T {t.shape} must both be (seeds, stages, replicates)"
        )
    seeds, _, replicates = a.shape
    drawn = rng.integers(0, seeds, (replicates, seeds))  # replicate b's seeds
    differences = t - a  # (seeds, stages, replicates)
    replicate = np.arange(replicates)[:, None]
    mean = differences[drawn, :, replicate].mean(axis=1)  # (replicates, stages)
    return [float(np.mean(m > 0) + 0.5 * np.mean(m == 0)) for m in mean.T]


def winning_stages(
    scores_a: Sequence[float],
    scores_t: Sequence[float],
    confidence: Sequence[float] | None = None,
    min_confidence: float = 0.0,
) -> list[bool]:
    """Stages where T's score beats A's strictly (``>``, no tolerance, as in the authors' code) and,
    when ``min_confidence`` > 0, the bootstrap probability of that is at least ``min_confidence``."""
    _check_lengths(scores_a, scores_t, confidence)
    if min_confidence > 0 and confidence is None:
        raise ValueError(f"min_confidence {min_confidence} needs bootstrap confidences")
    return [
        t > a and (min_confidence <= 0 or p >= min_confidence)
        for a, t, p in zip(scores_a, scores_t, confidence or [1.0] * len(scores_a), strict=True)
    ]


def grow_depths(
    depths: Sequence[int], scores_a: Sequence[float], scores_t: Sequence[float], delta: int
) -> tuple[int, ...]:
    """A-hat: stage i grows by ``delta`` exactly when T's score beats A's, strictly; ties and
    losses keep the stage's depth (the paper's rule, without confidence or limits)."""
    _check_lengths(depths, scores_a, scores_t)
    return tuple(
        int(m) + delta if grows else int(m)
        for m, grows in zip(depths, winning_stages(scores_a, scores_t), strict=True)
    )


@dataclass(frozen=True)
class Growth:
    """What one iteration decided: the depths before and after, the winning stages a limit held
    back (0-based) and the limits that did so (names such as ``"macs"``)."""

    previous: tuple[int, ...]
    depths: tuple[int, ...]
    held_back: tuple[int, ...] = ()
    bound_by: tuple[str, ...] = ()

    @property
    def grew(self) -> bool:
        return self.depths != self.previous


def grow_within_limits(
    depths: Sequence[int],
    wins: Sequence[bool],
    gains: Sequence[float],
    delta: int,
    cost_of: Callable[[tuple[int, ...]], Mapping[str, float]],
    limits: Mapping[str, float],
) -> Growth:
    """Grow the winning stages whose growth keeps every cost of the network within ``limits``.

    When not every winning stage fits, stages go first in order of score gain per added cost,
    where a stage's added cost is its largest share of any limit (so with one limit: gain per
    added MAC, parameter or millisecond), and each is kept only if the network it leads to is
    still within every limit.  ``cost_of(depths)`` gives the costs by the names ``limits`` uses.
    """
    _check_lengths(depths, wins, gains)
    current = tuple(int(m) for m in depths)
    candidates = [i for i, won in enumerate(wins) if won]
    if not limits:
        grown = tuple(m + delta if i in candidates else m for i, m in enumerate(current))
        return Growth(current, grown)
    base = cost_of(current)

    def share(stage: int) -> float:
        added = cost_of(deepen_stage(current, stage, delta))
        return max((added[name] - base[name]) / limit for name, limit in limits.items())

    order = sorted(candidates, key=lambda i: -gains[i] / max(share(i), 1e-12))
    grown, held_back, bound_by = current, [], set()
    for stage in order:
        deeper = deepen_stage(grown, stage, delta)
        over = [name for name, limit in limits.items() if cost_of(deeper)[name] > limit]
        if over:
            held_back.append(stage)
            bound_by.update(over)
        else:
            grown = deeper
    return Growth(current, grown, tuple(sorted(held_back)), tuple(sorted(bound_by)))
