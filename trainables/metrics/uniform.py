"""The uniform networks (every stage m modules deep) that cost what a given network costs.

A found network is judged against the hand-made alternative of the same cost: the uniform network
of the same module type, widths and input whose MACs are closest (its "uniform twin"), or the two
uniform networks whose MACs bracket it, between which accuracy is interpolated.  Every extra
module of a stage adds the same MACs, so a uniform network's MACs are linear in m: two counts
give the line, and the depth m* of equal MACs is read off it.
"""

from __future__ import annotations

import math

from trainables.metrics.size import count_macs
from trainables.models import build_model
from trainables.spec import ArchSpec


def equivalent_uniform_depth(spec: ArchSpec) -> float:
    """m* (real-valued) such that the uniform m*-..-m* network has ``spec``'s MACs."""

    def macs(depths: tuple[int, ...]) -> int:
        return count_macs(build_model(spec.with_depths(depths)), spec.in_channels, spec.image_size)

    stages = spec.num_stages
    one, two = macs((1,) * stages), macs((2,) * stages)
    return 1 + (macs(spec.depths) - one) / (two - one)


def closest_uniform_depths(spec: ArchSpec) -> tuple[int, ...]:
    """m-..-m of closest MACs to ``spec`` (at least 1 module per stage)."""
    return (max(1, round(equivalent_uniform_depth(spec))),) * spec.num_stages


def bracketing_uniform_depths(spec: ArchSpec) -> list[tuple[int, ...]]:
    """The uniform networks just below and just above ``spec``'s MACs (one when ``spec`` has a
    uniform network's MACs exactly or costs less than the 1-..-1 network)."""
    m = equivalent_uniform_depth(spec)
    depths = dict.fromkeys((max(1, math.floor(m + 1e-9)), max(1, math.ceil(m - 1e-9))))
    return [(d,) * spec.num_stages for d in depths]
