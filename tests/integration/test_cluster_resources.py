"""What trials ask of the session's local Ray (2 CPUs, no GPU): a request no node can hold is a
clear error, and a trial alone holds its twin's CPUs as far as a node has them.  (The real
2-node cluster: tests/cluster/test_cluster.py.)"""

import pytest

from nas_service.core.errors import ConfigError
from nas_service.tune.cluster import (
    TRAIN_DRIVER_MEMORY,
    TrialResources,
    alone_resources,
    searches_that_fit,
    trial_resources,
)


def test_a_request_no_node_can_hold_is_a_clear_error(ray_session):
    with pytest.raises(ConfigError, match="--gpus-per-trial 1.0: no node .* has that many GPUs"):
        trial_resources(1.0, 1.0)
    with pytest.raises(ConfigError, match="--cpus-per-trial 64.0"):
        trial_resources(64.0, None)
    assert trial_resources(1.0, None) == {"cpu": 1.0, "gpu": 0.0}
    # data-parallel workers: each on one node, all of them somewhere in the cluster
    assert trial_resources(1.0, None, 2) == {"cpu": 1.0, "gpu": 0.0}
    with pytest.raises(
        ConfigError, match="--workers-per-trial 3: the cluster holds at most 2 workers of 1 CPUs and 0 GPUs"
    ):
        trial_resources(1.0, None, 3)
    assert searches_that_fit({"cpu": 0.5, "gpu": 0.0}, 2) == 2
    assert searches_that_fit({"cpu": 0.5, "gpu": 0.0}, 2, workers_per_trial=2) == 1
    driver = TrialResources({"cpu": 1.0, "gpu": 0.0}, {"cpu": 1.0, "gpu": 0.0}, workers=2)
    assert driver({"alone": True}).required_resources == {"memory": TRAIN_DRIVER_MEMORY}
    assert driver.describe() == "each trial trains on 2 workers, each using {'cpu': 1.0, 'gpu': 0.0}"


def test_a_cpu_trial_alone_holds_its_twins_cpus_as_far_as_a_node_has_them(ray_session):
    """The suite's local Ray has 2 CPUs and no GPU."""
    assert alone_resources({"cpu": 1.0, "gpu": 0.0}, 2, 28) == {"cpu": 2.0, "gpu": 0.0}
    assert alone_resources({"cpu": 2.0, "gpu": 0.0}, 2, 28) == {"cpu": 2.0, "gpu": 0.0}
    assert alone_resources({"cpu": 0.5, "gpu": 0.0}, 2, 16) == {"cpu": 1.0, "gpu": 0.0}
    assert alone_resources({"cpu": 1.0, "gpu": 0.5}, 2, 32) == {"cpu": 1.0, "gpu": 0.5}
    # 8x8 digits: a second thread does not repay a new process
    assert alone_resources({"cpu": 1.0, "gpu": 0.0}, 2, 8) == {"cpu": 1.0, "gpu": 0.0}
    request = TrialResources({"cpu": 1.0, "gpu": 0.5}, {"cpu": 2.0, "gpu": 0.5})
    assert request({"alone": True}).required_resources == {"CPU": 2.0, "GPU": 0.5}
    assert request({"depths": [1]}).required_resources == {"CPU": 1.0, "GPU": 0.5}
    assert TrialResources({"cpu": 1.0, "gpu": 0.0}, {"cpu": 1.0, "gpu": 0.0})(
        {"alone": True}
    ).required_resources == {"CPU": 1.0}
    assert request.describe() == (
        "each trial uses {'cpu': 1.0, 'gpu': 0.5}, one that trains alone {'cpu': 2.0, 'gpu': 0.5}"
    )
