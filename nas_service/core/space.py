"""The depth search space shared by every method, so that baselines search what stage-wise can reach.

Stage-wise starts at m0 per stage and a stage grows by delta at most once per iteration; T of the
last iteration adds one more delta.  So with n iterations every depth it can train lies in
{m0, m0 + delta, ..., m0 + n * delta} per stage, and that grid is the default space of random
search and ASHA.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DepthSpace:
    """Depth of each of ``num_stages`` stages in ``[m_min, m_max]`` in steps of ``delta``."""

    num_stages: int
    m_min: int
    m_max: int
    delta: int

    def __post_init__(self) -> None:
        if self.num_stages < 1 or self.m_min < 1 or self.delta < 1 or self.m_max < self.m_min:
            raise ValueError(f"depth space {self} needs num_stages, m_min, delta >= 1 and m_max >= m_min")

    @classmethod
    def reachable_by_stagewise(cls, start_depths: tuple[int, ...], delta: int, iterations: int) -> DepthSpace:
        return cls(len(start_depths), min(start_depths), max(start_depths) + iterations * delta, delta)

    @property
    def choices(self) -> list[int]:
        return list(range(self.m_min, self.m_max + 1, self.delta))

    @property
    def size(self) -> int:
        return len(self.choices) ** self.num_stages

    def contains(self, depths: tuple[int, ...]) -> bool:
        return len(depths) == self.num_stages and all(m in self.choices for m in depths)
