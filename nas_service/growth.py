"""The growth rule of Stage-Wise NAS (Jordao et al., ICPR 2020, Algorithm 1), as pure functions."""

from __future__ import annotations

from typing import Sequence


def deepen_all(depths: Sequence[int], delta: int) -> tuple[int, ...]:
    """T of an iteration: every stage of A deepened by ``delta`` (Algorithm 1, line 3)."""
    return tuple(int(m) + delta for m in depths)


def grow_depths(depths: Sequence[int], scores_a: Sequence[float], scores_t: Sequence[float],
                delta: int) -> tuple[int, ...]:
    """A-hat: stage i grows by ``delta`` exactly when T's score beats A's, strictly (``>``, no
    tolerance, as in the authors' code); ties and losses keep the stage's depth."""
    if not (len(depths) == len(scores_a) == len(scores_t)):
        raise ValueError(f"depths {list(depths)}, scores of A {list(scores_a)} and of T "
                         f"{list(scores_t)} must have one entry per stage")
    return tuple(int(m) + delta if t > a else int(m)
                 for m, a, t in zip(depths, scores_a, scores_t))
