"""Module paths from before the package was laid out by role, kept importable.

Tune pickles the searcher, the stopper and the callbacks of a search into its experiment folder by
their module paths (``nas_service.searcher.StageWiseSearcher``).  A search started by an older
version must still ``--resume``, so each old path imports the module that now holds those names.
Nothing else should use these paths.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from types import ModuleType

MOVED = {
    "nas_service.errors": "nas_service.core.errors",
    "nas_service.budget": "nas_service.core.budget",
    "nas_service.growth": "nas_service.core.growth",
    "nas_service.decisions": "nas_service.core.decisions",
    "nas_service.pareto": "nas_service.core.pareto",
    "nas_service.space": "nas_service.core.space",
    "nas_service.search_quality": "nas_service.core.search_quality",
    "nas_service.candidates": "nas_service.core.candidates",
    "nas_service.searcher": "nas_service.tune.searcher",
    "nas_service.fixed_searcher": "nas_service.tune.fixed_searcher",
    "nas_service.stopper": "nas_service.tune.stopper",
    "nas_service.progress": "nas_service.tune.progress",
    "nas_service.cluster": "nas_service.tune.cluster",
    "nas_service.stop_signals": "nas_service.tune.stop_signals",
    "nas_service.experiment": "nas_service.tune.experiment",
    "nas_service.stagewise": "nas_service.methods.stagewise",
    "nas_service.baseline_search": "nas_service.methods.baselines",
    "nas_service.comparison": "nas_service.methods.comparison",
    "nas_service.single": "nas_service.methods.single",
    "nas_service.cross_dataset": "nas_service.methods.cross_dataset",
    "nas_service.uniform_search": "nas_service.methods.uniform",
}


class _MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Answers an old path with the module at its new one (the same module object)."""

    def find_spec(self, fullname: str, path=None, target=None):
        if fullname not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module(MOVED[spec.name])

    def exec_module(self, module: ModuleType) -> None:
        """The module has run already at its new path; importlib has just set its ``__spec__`` to
        the old path's, so give it back its own (its loader knows its file)."""
        module.__spec__ = importlib.util.spec_from_loader(module.__name__, module.__loader__)


def install() -> None:
    """Put the finder last on ``sys.meta_path``: a module that exists is always found first."""
    if not any(isinstance(finder, _MovedModuleFinder) for finder in sys.meta_path):
        sys.meta_path.append(_MovedModuleFinder())
