"""What a network of given depths costs, for growth within resource limits (``--max-macs``,
``--max-params``, ``--max-latency-ms``).

The searcher asks for the costs of networks it has not trained (every one-stage growth of A), so
they are computed from a freshly built network with the same definitions the trials report:
``macs`` and ``params`` exactly (they do not depend on the weights), ``latency_ms`` as
``cpu_latency_ms`` measures it, on the machine that runs the search.  Each architecture is measured
once per search and remembered, so a decision never rests on two timings of one network.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from trainables.metrics.architecture import architecture_measures
from trainables.models import build_model
from trainables.spec import ArchSpec, format_depths

# limit name -> the flag that sets it; also the cost names ``NetworkCosts`` returns
LIMIT_FLAGS = {"macs": "--max-macs", "params": "--max-params", "latency_ms": "--max-latency-ms"}


@dataclass
class NetworkCosts:
    """depths -> {"macs", "params"[, "latency_ms"]} of ``template`` with those depths."""

    template: ArchSpec
    latency: bool = False
    _known: dict = field(default_factory=dict, repr=False)

    def __call__(self, depths: tuple[int, ...]) -> dict[str, float]:
        depths = tuple(int(m) for m in depths)
        if depths not in self._known:
            spec = self.template.with_depths(depths)
            measures = architecture_measures(build_model(spec).eval(), spec, self.latency)
            costs = {"macs": float(measures["macs"]), "params": float(measures["params"])}
            if self.latency:
                costs["latency_ms"] = measures["cpu_latency_ms"]
            self._known[depths] = costs
        return self._known[depths]

    def over(self, depths: tuple[int, ...], limits: dict[str, float]) -> list[str]:
        """``"--max-macs 5e+07: 6-6-6 has 6.1e+07"`` for every limit ``depths`` exceeds."""
        costs = self(depths)
        return [
            f"{LIMIT_FLAGS[name]} {limit:g}: {format_depths(depths)} has {costs[name]:g}"
            for name, limit in limits.items()
            if costs[name] > limit
        ]


def estimated_size(spec: ArchSpec) -> dict[str, float]:
    """``macs`` and ``params`` of ``spec`` without building it: from ``S + 1`` small networks
    built on the meta device (no memory), the one with ``min(depth, 3)`` modules per stage plus,
    per stage, what one more module adds.  Past a stage's first modules (the first changes the
    resolution, and a NASNet cell reads the two before it) every module has the same shapes, so
    the sum is exact (tests/unit/test_costs.py); building ``1000-1000-1000`` itself takes a minute."""
    import torch

    from trainables.metrics.size import count_macs, count_parameters

    def size(depths: tuple[int, ...]) -> tuple[int, int]:
        with torch.device("meta"):
            model = build_model(spec.with_depths(depths))
        return count_macs(model, spec.in_channels, spec.image_size), count_parameters(model)

    anchor = tuple(min(depth, ANCHOR_DEPTH) for depth in spec.depths)
    base_macs, base_params = size(anchor)
    macs, params = float(base_macs), float(base_params)
    for stage, depth in enumerate(spec.depths):
        if depth > ANCHOR_DEPTH:
            one_more = tuple(m + (i == stage) for i, m in enumerate(anchor))
            stage_macs, stage_params = size(one_more)
            macs += (depth - ANCHOR_DEPTH) * (stage_macs - base_macs)
            params += (depth - ANCHOR_DEPTH) * (stage_params - base_params)
    return {"macs": macs, "params": params}


ANCHOR_DEPTH = 3  # modules per stage from which every further module has the same shapes
