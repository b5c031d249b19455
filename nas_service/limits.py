"""Resource limits of a search (``--max-macs``, ``--max-params``, ``--max-latency-ms``), checked
against the first architecture before Ray starts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nas_service.config import SearchConfig
from nas_service.errors import ConfigError

if TYPE_CHECKING:
    from trainables.datasets.splits import DataSplits
    from trainables.metrics.costs import NetworkCosts


def growth_costs(config: SearchConfig, data: DataSplits) -> NetworkCosts | None:
    """The cost function the searcher grows within, or ``None`` without limits.  Raises
    ``ConfigError`` when the first architecture already exceeds a limit: no growth could help."""
    if not config.limits:
        return None
    from trainables.metrics.costs import NetworkCosts  # torch: only when limits are given

    costs = NetworkCosts(config.network_spec(config.start_depths, data),
                         latency="latency_ms" in config.limits)
    over = costs.over(config.start_depths, config.limits)
    if over:
        raise ConfigError(f"{over[0]}, the first architecture is already over the limit: raise "
                          "the limit or start smaller (--m0, --initial-depths)")
    return costs
