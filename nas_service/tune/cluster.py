"""Connecting to Ray and sizing trials from what the cluster has, not what the driver's machine has."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import ray
from ray.tune import PlacementGroupFactory

from nas_service.core.errors import ConfigError
from nas_service.tune.stop_signals import stop_handlers_kept
from trainables.trial_config import ALONE_KEY

SHARED_GPU_FRACTION = 0.5  # A and T of an iteration share one GPU
TWO_THREADS_FROM_IMAGE_SIZE = 16  # a CPU trial alone holds its missing twin's CPUs from this size
TRAIN_DRIVER_MEMORY = 256 * 2**20  # bytes held by a Tune trial that drives a Ray Train run


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
            with cluster_out_of_signal_reach():
                context = ray.init(address="local", include_dashboard=dashboard, log_to_driver=True)
    return context.dashboard_url or None


@contextmanager
def cluster_out_of_signal_reach() -> Iterator[None]:
    """The processes of a local cluster (GCS, raylet, dashboard, and the workers the raylet
    starts) in process groups of their own, not the driver's.

    ``timeout``, a shell's job control and batch schedulers stop a program by signalling its
    process group: the driver takes SIGTERM as Ctrl-C and stops its trials gracefully, but the
    cluster it needs for that would die of the same signal (the driver then waits 60 s for its
    GCS and exits 1, its MLflow runs left RUNNING).  Ray does the same on Windows; on Linux the
    kernel still ends every one of them with the driver (Ray's fate sharing,
    ``PR_SET_PDEATHSIG``), so none outlives it.  Without kernel fate sharing nothing changes."""
    from ray._private import services, utils

    original = getattr(services, "ConsolePopen", None)
    if original is None or os.name != "posix" or not utils.detect_fate_sharing_support():
        yield
        return

    class OwnGroupPopen(original):
        def __init__(self, *args, **kwargs) -> None:
            if sys.version_info >= (3, 11):
                kwargs.setdefault("process_group", 0)
            else:
                kwargs.setdefault("start_new_session", True)
            super().__init__(*args, **kwargs)

    services.ConsolePopen = OwnGroupPopen
    try:
        yield
    finally:
        services.ConsolePopen = original


def alive_nodes() -> list[dict]:
    """The cluster's nodes that are up (``ray.nodes()`` also lists dead ones)."""
    return [node for node in ray.nodes() if node.get("Alive")]


def single_node() -> bool:
    """Whether the cluster is one machine (a laptop, one GPU box, the test suite's local Ray)."""
    return len(alive_nodes()) == 1


def most_on_one_node(resource: str) -> float:
    """The most of ``resource`` ("CPU", "GPU") that one alive node has: what one trial can get."""
    return max((node["Resources"].get(resource, 0.0) for node in alive_nodes()), default=0.0)


def trial_resources(
    cpus_per_trial: float, gpus_per_trial: float | None, workers_per_trial: int = 1
) -> dict[str, float]:
    """Resources of one trial, or of each of its workers when it trains data-parallel; a request
    that the alive nodes can never hold is a ``ConfigError``."""
    most_cpus, most_gpus = most_on_one_node("CPU"), most_on_one_node("GPU")
    if gpus_per_trial is None:
        shares_a_gpu = workers_per_trial == 1  # A and T side by side; DDP ranks hold whole GPUs
        gpus_per_trial = (SHARED_GPU_FRACTION if shares_a_gpu else 1.0) if most_gpus >= 1 else 0.0
    if cpus_per_trial > most_cpus:
        raise ConfigError(
            f"--cpus-per-trial {cpus_per_trial}: no node of the cluster has that many "
            f"CPUs (the largest has {most_cpus:g})"
        )
    if gpus_per_trial > most_gpus:
        raise ConfigError(
            f"--gpus-per-trial {gpus_per_trial}: no node of the cluster has that many "
            f"GPUs (the largest has {most_gpus:g})"
        )
    resources = {"cpu": cpus_per_trial, "gpu": gpus_per_trial}
    if workers_per_trial > 1:
        room = workers_that_fit(resources)
        if room < workers_per_trial:
            raise ConfigError(
                f"--workers-per-trial {workers_per_trial}: the cluster holds at most "
                f"{room} workers of {cpus_per_trial:g} CPUs and {gpus_per_trial:g} "
                "GPUs (--cpus-per-trial, --gpus-per-trial)"
            )
    return resources


def times_held(available: Mapping[str, float], resources: Mapping[str, float]) -> int:
    """How many requests of ``resources`` ({"cpu", "gpu"}) ``available`` (Ray's {"CPU", "GPU",
    ...}) holds."""
    fits = [available.get("CPU", 0.0) / resources["cpu"]]
    if resources["gpu"]:
        fits.append(available.get("GPU", 0.0) / resources["gpu"])
    return math.floor(min(fits) + 1e-9)


def workers_that_fit(resources: dict[str, float]) -> int:
    """How many workers of ``resources`` ({"cpu", "gpu"}) the alive nodes hold together (a
    worker lives on one node)."""
    return sum(times_held(node["Resources"], resources) for node in alive_nodes())


def alone_resources(resources: dict[str, float], slots: int, image_size: int) -> dict[str, float]:
    """The resources of a trial that trains alone: on CPUs, for images of at least
    ``TWO_THREADS_FROM_IMAGE_SIZE`` pixels, those of the ``slots`` trials that a search runs side
    by side, as far as one node holds them, so that the CPUs its missing twin would have used train
    it (``benchmarks/lone_trial_threads.py``: 1.6-1.8x per step with two threads at 16-32 pixels).

    Smaller images keep one trial's share: on 8x8 feature maps a second thread gains 1.1-1.3x,
    little for the new process that a different resource request starts (Tune hands a
    finished trial's process only to a trial with the same request; about 4 s on a CPU).  A GPU
    trial keeps its own: its speed is its device's, and a larger GPU share would count more
    GPU-hours for the same work."""
    if resources["gpu"] or image_size < TWO_THREADS_FROM_IMAGE_SIZE:
        return dict(resources)
    return {"cpu": max(resources["cpu"], min(resources["cpu"] * slots, most_on_one_node("CPU"))), "gpu": 0.0}


@dataclass(frozen=True)
class TrialResources:
    """Tune's resource request of a trial, from its config (``tune.with_resources`` takes such a
    callable): ``alone`` for a trial its searcher marked with ``ALONE_KEY``, ``shared`` otherwise.

    With ``workers`` > 1 the resources are each Ray Train worker's, which the Train run reserves
    itself; the Tune trial only drives it and asks for no CPU (a CPU of its own would keep a
    worker off its node), just the memory of a driver process."""

    shared: Mapping[str, float]
    alone: Mapping[str, float]
    workers: int = 1

    def __call__(self, config: Mapping) -> PlacementGroupFactory:
        if self.workers > 1:
            return PlacementGroupFactory([{"CPU": 0.0, "memory": TRAIN_DRIVER_MEMORY}])
        chosen = self.alone if config.get(ALONE_KEY) else self.shared
        bundle = {"CPU": chosen["cpu"], **({"GPU": chosen["gpu"]} if chosen["gpu"] else {})}
        return PlacementGroupFactory([bundle])

    def describe(self) -> str:
        """``each trial uses {'cpu': 1.0, 'gpu': 0.0}`` and, where it differs, what a lone one
        uses; for data-parallel trials, their workers and what each uses."""
        if self.workers > 1:
            return f"each trial trains on {self.workers} workers, each using {dict(self.shared)}"
        text = f"each trial uses {dict(self.shared)}"
        if self.alone != self.shared:
            text += f", one that trains alone {dict(self.alone)}"
        return text


def searches_that_fit(resources: dict[str, float], trials_per_search: int, workers_per_trial: int = 1) -> int:
    """How many searches of ``trials_per_search`` trials of ``resources`` ({"cpu", "gpu"}; each
    worker's for data-parallel trials) the cluster runs at once (at least one)."""
    slots = times_held(ray.cluster_resources(), resources)
    return max(1, slots // (trials_per_search * workers_per_trial))
