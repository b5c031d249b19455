"""The integration tests' fixtures: one real local Ray instance per test session, real MLflow
sqlite stores."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
LAYERS = ("unit", "integration", "cluster")


@pytest.fixture(scope="session")
def ray_session():
    """A local 2-CPU Ray instance shared by every test that needs Ray."""
    import ray

    # the workers import what the tests define: the helper modules (e.g. tests/support/
    # criteria_stubs.py's criteria) and the test modules whose functions they run
    folders = [str(TESTS / folder) for folder in ("support", *LAYERS)]
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [*folders, os.environ.get("PYTHONPATH")]))
    # address="local": never join a cluster that `ray start` (the cluster test) left behind
    ray.init(
        address="local",
        num_cpus=2,
        num_gpus=0,
        include_dashboard=False,
        object_store_memory=300 * 1024**2,
        log_to_driver=False,
    )
    yield ray
    ray.shutdown()


@pytest.fixture
def tracking_uri(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'mlflow.db'}"
