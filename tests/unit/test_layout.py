"""The layout's rules, read from the import graph."""

from __future__ import annotations

import ast

import pytest
from import_graph import ROOT, files_under, imported_modules


def test_the_graph_reader_sees_imports_inside_functions(tmp_path):
    source = tmp_path / "sample.py"
    source.write_text("import os\n\ndef f():\n    from ray import tune\n    import torch.nn\n")
    assert imported_modules(source) == {"os", "ray", "torch.nn"}


@pytest.mark.parametrize("package", ["trainables", "scoring"])
def test_the_training_and_scoring_layers_never_import_the_service(package):
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            name for name in imported_modules(path) if name.split(".")[0] == "nas_service"
        )
        for path in files_under(package)
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_only_the_command_line_prints():
    """Library code logs through ``logging``; the CLI shows those records as ``[nas]`` lines."""
    printing = []
    for path in files_under("nas_service"):
        if "cli" in path.relative_to(ROOT / "nas_service").parts:
            continue
        calls = [
            node
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print"
        ]
        if calls:
            printing.append(f"{path.relative_to(ROOT)}:{calls[0].lineno}")
    assert printing == []


# the service's layers, lowest first: a module imports only from its own layer or lower ones
LAYERS = (
    ("nas_service", "nas_service.core"),
    ("nas_service.value_rules", "nas_service.ray_job"),
    ("nas_service.config", "nas_service.search_data"),
    ("nas_service.preflight",),
    ("nas_service.validation", "nas_service.limits", "nas_service.tracking"),
    ("nas_service.tune", "nas_service.reporting"),
    ("nas_service.methods",),
    ("nas_service.api",),
    ("nas_service.cli", "nas_service.run", "nas_service.__main__"),
)


def layer_of(module: str) -> int:
    """The layer of ``module``: the one of its longest listed prefix."""
    matches = [
        (len(prefix), level)
        for level, prefixes in enumerate(LAYERS)
        for prefix in prefixes
        if module == prefix or module.startswith(prefix + ".")
    ]
    return max(matches)[1]


def test_no_module_imports_up_the_layers():
    upward = []
    for path in files_under("nas_service"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        upward += [
            f"{module} -> {name}"
            for name in sorted(imported_modules(path))
            if name.split(".")[0] == "nas_service" and layer_of(name) > layer_of(module)
        ]
    assert upward == []
    assert layer_of("nas_service.tracking.queries") > layer_of("nas_service.config")
