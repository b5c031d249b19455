"""The layout's rules, read from the import graph, and the paths that older searches pickled."""

from __future__ import annotations

import ast
import pickle
from pathlib import Path

import pytest

from nas_service import legacy_paths

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth (function-level imports count too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def files_under(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def test_the_graph_reader_sees_imports_inside_functions(tmp_path):
    source = tmp_path / "sample.py"
    source.write_text("import os\n\ndef f():\n    from ray import tune\n    import torch.nn\n")
    assert imported_modules(source) == {"os", "ray", "torch.nn"}


@pytest.mark.parametrize("package", ["trainables", "scoring"])
def test_the_training_and_scoring_layers_never_import_the_service(package):
    offenders = {str(path.relative_to(ROOT)): sorted(name for name in imported_modules(path)
                                                      if name.split(".")[0] == "nas_service")
                 for path in files_under(package)}
    assert {path: names for path, names in offenders.items() if names} == {}


def test_only_the_command_line_prints():
    """Library code logs through ``logging``; the CLI shows those records as ``[nas]`` lines."""
    printing = []
    for path in files_under("nas_service"):
        if "cli" in path.relative_to(ROOT / "nas_service").parts:
            continue
        calls = [node for node in ast.walk(ast.parse(path.read_text()))
                 if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print"]
        if calls:
            printing.append(f"{path.relative_to(ROOT)}:{calls[0].lineno}")
    assert printing == []


@pytest.mark.parametrize("old, new", sorted(legacy_paths.MOVED.items()))
def test_paths_that_older_searches_pickled_still_import(old, new):
    import importlib

    moved, current = importlib.import_module(old), importlib.import_module(new)
    assert moved is current
    assert current.__spec__.name == new  # the alias leaves the module's own spec alone


def test_a_pickle_from_before_the_layout_loads_the_classes_of_today():
    from nas_service.tune.searcher import StageWiseSearcher
    from nas_service.tune.stopper import BudgetStopper

    # what pickle wrote for the class references when they lived in nas_service.searcher/stopper
    old = pickle.dumps((StageWiseSearcher, BudgetStopper), protocol=0)
    old = old.replace(b"nas_service.tune.searcher", b"nas_service.searcher")
    old = old.replace(b"nas_service.tune.stopper", b"nas_service.stopper")
    assert b"nas_service.searcher" in old and b"nas_service.tune" not in old
    assert pickle.loads(old) == (StageWiseSearcher, BudgetStopper)
