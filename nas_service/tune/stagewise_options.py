"""How a stage-wise search decides and what it trains besides A and T (``StageWiseOptions``):
the settings of ``StageWiseSearcher`` that a Tune user rarely changes, checked once."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from nas_service.core.growth import NO_GROWTH_POLICIES


@dataclass(frozen=True)
class StageWiseOptions:
    """How a stage-wise search decides and what it trains besides A and T; the defaults are the
    paper's method.

    Args:
        references: depths of networks to train after the search with the same protocol.
        seed: initialisation seed of the first iteration; iteration k trains from seeds
            ``seed + (k - 1) * score_seeds`` on (``StageWiseSearcher.seeds_of``).
        on_no_growth: ``"retrain"`` A and T from a new initialisation in the next iteration (the
            authors' code) or ``"stop"`` the search as converged.
        min_confidence: a stage grows only when the bootstrap probability that T's score beats
            A's is at least this (0: the paper's plain ``>``; needs bootstrap scores otherwise).
        score_seeds: k, init seeds of A and T per iteration (1: the paper).  A stage grows when
            its T score beats its A score on average over the seeds (the mean of the paired
            differences), and the confidence resamples seeds and images together.
        limits: upper bounds on the grown network's costs, e.g. ``{"macs": 5e7}``.
        cost_of: depths -> costs under the names ``limits`` uses (needed with ``limits``).
        final_epochs: after the references, every candidate (each iteration's A, the found
            network, the references) continues this many epochs from its checkpoint, as a trial
            of its own that logs into the candidate's run (the paper's +100 epochs).
    """

    references: Sequence[Sequence[int]] = ()
    seed: int = 0
    on_no_growth: str = "retrain"
    min_confidence: float = 0.0
    score_seeds: int = 1
    limits: Mapping[str, float] = field(default_factory=dict)
    cost_of: Callable[[tuple[int, ...]], Mapping[str, float]] | None = None
    final_epochs: int = 0

    def __post_init__(self) -> None:
        if self.on_no_growth not in NO_GROWTH_POLICIES:
            raise ValueError(
                f"on_no_growth {self.on_no_growth!r} must be one of {', '.join(NO_GROWTH_POLICIES)}"
            )
        if not 0 <= self.min_confidence <= 1:
            raise ValueError(f"min_confidence {self.min_confidence} must be in [0, 1]")
        if self.limits and self.cost_of is None:
            raise ValueError(f"limits {dict(self.limits)} need cost_of")
        if self.score_seeds < 1:
            raise ValueError(f"score_seeds {self.score_seeds} must be at least 1")
        object.__setattr__(
            self, "references", tuple(tuple(int(m) for m in depths) for depths in self.references)
        )
