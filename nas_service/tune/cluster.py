"""Connecting to Ray and sizing trials from what the cluster has, not what the driver's machine has."""

from __future__ import annotations

import os

import ray

from nas_service.config import ConfigError
from nas_service.tune.stop_signals import stop_handlers_kept

SHARED_GPU_FRACTION = 0.5  # A and T of an iteration share one GPU


def connect(dashboard: bool = False) -> str | None:
    """Join the cluster in ``RAY_ADDRESS`` (e.g. inside ``ray job submit``), else start a local one,
    with Ray's dashboard when ``dashboard`` (a joined cluster has its own, or none).  Returns the
    dashboard's address (``host:port``) when there is one; ``None`` too when Ray was already
    running in this process: whoever started it chose its dashboard and was shown its address.

    ``address="local"``: a bare ``ray.init()`` would instead try the address that the last
    ``ray start`` on this machine wrote to /tmp/ray, and wait on it if that cluster is gone."""
    if ray.is_initialized():
        return None
    with stop_handlers_kept():  # SIGTERM keeps stopping the search as Ctrl-C does
        if os.environ.get("RAY_ADDRESS"):
            context = ray.init(log_to_driver=True)
        else:
            context = ray.init(address="local", include_dashboard=dashboard, log_to_driver=True)
    return context.dashboard_url or None


def alive_nodes() -> list[dict]:
    """The cluster's nodes that are up (``ray.nodes()`` also lists dead ones)."""
    return [node for node in ray.nodes() if node.get("Alive")]


def single_node() -> bool:
    """Whether the cluster is one machine (a laptop, one GPU box, the test suite's local Ray)."""
    return len(alive_nodes()) == 1


def trial_resources(cpus_per_trial: float, gpus_per_trial: float | None) -> dict[str, float]:
    """Resources of one trial; a request that no alive node can ever hold is a ``ConfigError``."""
    nodes = [node["Resources"] for node in alive_nodes()]
    most_cpus = max((node.get("CPU", 0.0) for node in nodes), default=0.0)
    most_gpus = max((node.get("GPU", 0.0) for node in nodes), default=0.0)
    if gpus_per_trial is None:
        gpus_per_trial = SHARED_GPU_FRACTION if most_gpus >= 1 else 0.0
    if cpus_per_trial > most_cpus:
        raise ConfigError(f"--cpus-per-trial {cpus_per_trial}: no node of the cluster has that many "
                          f"CPUs (the largest has {most_cpus:g})")
    if gpus_per_trial > most_gpus:
        raise ConfigError(f"--gpus-per-trial {gpus_per_trial}: no node of the cluster has that many "
                          f"GPUs (the largest has {most_gpus:g})")
    return {"cpu": cpus_per_trial, "gpu": gpus_per_trial}
