"""Resource limits of a search (``--max-macs``, ``--max-params``, ``--max-latency-ms``), checked
against the first architecture before Ray starts, and warnings of settings that would keep a CPU
busy for days."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nas_service.config import SearchConfig
from nas_service.core.errors import ConfigError

# beyond these a CPU trains one network for hours (ResNet-56 on CIFAR-10: 0.13 G MACs per image,
# 50,000 images x 200 epochs = 1e7 image-epochs, days on a CPU)
CPU_MACS_WARNING = 1e9
CPU_IMAGE_EPOCHS_WARNING = 1e6
# modules in one network beyond which building it takes minutes on a CPU (ResNet-1202 has 600)
MANY_MODULES = 1000
# scoring actors are Ray worker processes: a few per CPU is all that can ever score at once
ACTORS_PER_CPU = 2

if TYPE_CHECKING:
    from trainables.datasets.splits import DataSplits
    from trainables.metrics.costs import NetworkCosts


def growth_costs(config: SearchConfig, data: DataSplits) -> NetworkCosts | None:
    """The cost function the searcher grows within, or ``None`` without limits.  Raises
    ``ConfigError`` when the first architecture already exceeds a limit: no growth could help."""
    if not config.limits:
        return None
    from trainables.metrics.costs import NetworkCosts  # torch: only when limits are given

    costs = NetworkCosts(
        config.network_spec(config.start_depths, data), latency="latency_ms" in config.limits
    )
    over = costs.over(config.start_depths, config.limits)
    if over:
        raise ConfigError(
            f"{over[0]}, the first architecture is already over the limit: raise "
            "the limit or start smaller (--m0, --initial-depths)"
        )
    return costs


def cpu_cost_warnings(config: SearchConfig, data: DataSplits) -> list[str]:
    """One line per extreme cost of training on CPUs: the deepest network's MACs per image
    (estimated without building it) and the image-epochs of one network."""
    from trainables.metrics.costs import estimated_size

    warnings = []
    deepest = needed_depths(config)
    spec = config.network_spec(deepest, data)
    macs = estimated_size(spec)["macs"]
    if macs > CPU_MACS_WARNING:
        warnings.append(
            f"the deepest network this search may train, {spec.depths_text} (width "
            f"{spec.widths[0]}), has {macs:.3g} MACs per {data.image_size}x"
            f"{data.image_size} image: each epoch of it will take hours on CPUs "
            "(ResNet-56 on CIFAR-10 has 1.3e+08)"
        )
    epochs = config.training().epochs
    image_epochs = len(data.y_train) * epochs
    if image_epochs > CPU_IMAGE_EPOCHS_WARNING:
        warnings.append(
            f"{len(data.y_train)} training images x {epochs} "
            f"epochs = {image_epochs:.3g} image-epochs per network on CPUs: consider "
            "--max-train-images, fewer --epochs or a GPU"
        )
    modules = sum(deepest)
    if modules > MANY_MODULES:
        warnings.append(
            f"the deepest network this search may train, {spec.depths_text}, has "
            f"{modules} modules: building it alone takes minutes on CPUs (ResNet-1202 "
            "has 600); a smaller --m0 or --initial-depths starts where the search can "
            "move"
        )
    return warnings


def cost_warnings(config: SearchConfig, data: DataSplits, cpus: float) -> list[str]:
    """One line per setting that makes a search start far more processes than can work, or end
    before it decides anything, on any hardware (``cpus``: the cluster's)."""
    warnings = []
    useful_actors = max(ACTORS_PER_CPU * cpus, 4)
    if config.scoring_actors > useful_actors:
        warnings.append(
            f"--scoring-actors {config.scoring_actors}: each is a Ray worker process "
            f"and the cluster has {cpus:g} CPUs, so at most about {useful_actors:g} "
            "can score at once; the rest only take memory and start-up time before "
            "the first network trains"
        )
    one_epoch = len(data.y_train)
    if config.budget_images is not None and config.budget_images < one_epoch:
        warnings.append(
            f"--budget-images {config.budget_images:g} is less than one epoch of one "
            f"network ({one_epoch} training images): the search stops after its first "
            "epoch, before it can compare any networks"
        )
    return warnings


def needed_depths(config: SearchConfig) -> tuple[int, ...]:
    """Per stage, the most modules any network of this search can have: the last iteration's T
    (start + iterations x delta) or a deeper reference."""
    deepest = [m + config.iterations * config.delta for m in config.start_depths]
    for reference in config.reference_depths:
        deepest = [max(a, b) for a, b in zip(deepest, reference, strict=True)]
    return tuple(deepest)
