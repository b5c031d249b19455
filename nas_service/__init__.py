"""Stage-wise neural architecture search as a Ray Tune service, tracked in MLflow.

The Python API (``nas_service.api``)::

    from nas_service import SearchConfig, search

    result = search(SearchConfig(dataset="digits", iterations=2))

The names below are imported on first use, so ``import nas_service`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.2.0"
# The layout of what a search saves for ``--resume`` (Tune pickles its searcher, stopper and
# callbacks by module path and attributes).  A version that changes it raises this number, and a
# search saved under another number is refused with the version that saved it.
SEARCH_STATE_FORMAT = 2

# public name -> the module that defines it
_EXPORTS = {
    "search": "nas_service.api",
    "SearchResult": "nas_service.api",
    "SearchConfig": "nas_service.config",
    "resolve": "nas_service.validation",
    "ConfigError": "nas_service.core.errors",
    "SearchFailed": "nas_service.core.errors",
    "SearchInterrupted": "nas_service.core.errors",
    "DatasetError": "trainables.datasets",
    "StageWiseSearcher": "nas_service.tune.searcher",
    "StageWiseOptions": "nas_service.tune.stagewise_options",
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
