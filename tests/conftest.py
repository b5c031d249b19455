"""Shared fixtures: one real local Ray instance per test session, real MLflow sqlite stores."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_TRAIN_ENABLE_V2_MIGRATION_WARNINGS", "0")
os.environ.setdefault("RAY_DEDUP_LOGS", "0")
# the suite's reference numbers are CPU numbers: on a GPU host the CLI processes it starts (and
# this one) see no GPU, unless NAS_TEST_GPU=1 asks for the GPU checks (tests/test_acceleration.py)
if os.environ.get("NAS_TEST_GPU") != "1":
    os.environ["CUDA_VISIBLE_DEVICES"] = ""


@pytest.fixture(scope="session")
def ray_session():
    """A local 2-CPU Ray instance shared by every test that needs Ray."""
    import ray

    # the workers import what the tests define (e.g. tests/criteria_stubs.py's criteria)
    tests = os.path.dirname(os.path.abspath(__file__))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [tests, os.environ.get("PYTHONPATH")]))
    # address="local": never join a cluster that `ray start` (the cluster test) left behind
    ray.init(address="local", num_cpus=2, num_gpus=0, include_dashboard=False,
             object_store_memory=300 * 1024 ** 2,
             log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture
def tracking_uri(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'mlflow.db'}"
