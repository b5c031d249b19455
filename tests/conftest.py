"""Shared fixtures: one real local Ray instance per test session, real MLflow sqlite stores.
Each test gets the marker of its folder (unit, integration or cluster); see tests/README.md."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
LAYERS = ("unit", "integration", "cluster")
# the helper modules (criteria_stubs, user_plugins, ...) import by their bare names from every folder
SUPPORT = str(TESTS / "support")
if SUPPORT not in sys.path:
    sys.path.insert(0, SUPPORT)

os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_TRAIN_ENABLE_V2_MIGRATION_WARNINGS", "0")
os.environ.setdefault("RAY_DEDUP_LOGS", "0")
# the suite's reference numbers are CPU numbers: on a GPU host the CLI processes it starts (and
# this one) see no GPU, unless NAS_TEST_GPU=1 asks for the GPU checks (tests/unit/test_acceleration.py)
if os.environ.get("NAS_TEST_GPU") != "1":
    os.environ["CUDA_VISIBLE_DEVICES"] = ""


@pytest.fixture(scope="session")
def ray_session():
    """A local 2-CPU Ray instance shared by every test that needs Ray."""
    import ray

    # the workers import what the tests define: the helper modules (e.g. tests/support/
    # criteria_stubs.py's criteria) and the test modules whose functions they run
    folders = [SUPPORT, *(str(TESTS / layer) for layer in LAYERS)]
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [*folders, os.environ.get("PYTHONPATH")]))
    # address="local": never join a cluster that `ray start` (the cluster test) left behind
    ray.init(address="local", num_cpus=2, num_gpus=0, include_dashboard=False,
             object_store_memory=300 * 1024 ** 2,
             log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture
def tracking_uri(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


def pytest_collection_modifyitems(config, items):
    """The folder is the layer: tests/unit/... is marked unit, and so on (``-m integration``)."""
    for item in items:
        parts = item.path.relative_to(TESTS).parts
        if len(parts) > 1 and parts[0] in LAYERS:
            item.add_marker(parts[0])
