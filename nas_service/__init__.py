"""Stage-wise neural architecture search as a Ray Tune service, tracked in MLflow.

The Python API (``nas_service.api``)::

    from nas_service import SearchConfig, search

    result = search(SearchConfig(dataset="digits", iterations=2))

The names below are imported on first use, so ``import nas_service`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

from nas_service import legacy_paths

legacy_paths.install()

# public name -> the module that defines it
_EXPORTS = {
    "search": "nas_service.api",
    "SearchResult": "nas_service.api",
    "SearchConfig": "nas_service.config",
    "resolve": "nas_service.config",
    "ConfigError": "nas_service.core.errors",
    "SearchFailed": "nas_service.core.errors",
    "SearchInterrupted": "nas_service.core.errors",
    "DatasetError": "trainables.datasets",
    "StageWiseSearcher": "nas_service.tune.searcher",
    "stage_importance": "trainables.stage_importance",
    "stage_features_of": "trainables.stage_importance",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'nas_service' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
