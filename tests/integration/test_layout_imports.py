"""The layout's import rules, checked in a fresh interpreter: the core pulls in neither Ray, torch
nor MLflow, and no module imports matplotlib.pyplot at import time."""

from __future__ import annotations

import subprocess
import sys

from import_graph import ROOT, files_under, imported_modules

HEAVY = ("ray", "torch", "torchvision", "mlflow")


def test_the_core_imports_neither_ray_nor_torch_nor_mlflow():
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            name for name in imported_modules(path) if name.split(".")[0] in HEAVY
        )
        for path in files_under("nas_service/core")
    }
    assert {path: names for path, names in offenders.items() if names} == {}
    # ... nor through what it imports from trainables and scoring
    modules = [
        f"nas_service.core.{path.stem}" for path in files_under("nas_service/core") if path.stem != "__init__"
    ]
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


def test_no_module_imports_matplotlib_pyplot_at_import_time():
    """A notebook's matplotlib backend is its own: plots are drawn on ``Figure`` objects."""
    script = (
        "import importlib, pkgutil, sys, nas_service\n"
        "for m in pkgutil.walk_packages(nas_service.__path__, 'nas_service.'):\n"
        "    if not m.name.endswith('__main__'):\n"
        "        importlib.import_module(m.name)\n"
        "print('matplotlib.pyplot' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert done.stdout.strip().splitlines()[-1:] == ["False"], done.stdout + done.stderr
