"""Settings every test runs under, the helper modules on the path, and each test marked with its
folder's layer (unit, integration or cluster); see tests/README.md.  The Ray and MLflow fixtures
are tests/integration/conftest.py's: no other folder uses them."""

from __future__ import annotations

import os
import sys
from pathlib import Path

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


def pytest_collection_modifyitems(config, items):
    """The folder is the layer: tests/unit/... is marked unit, and so on (``-m integration``)."""
    for item in items:
        parts = item.path.relative_to(TESTS).parts
        if len(parts) > 1 and parts[0] in LAYERS:
            item.add_marker(parts[0])
