"""``stagewise-nas <command>``: every command answers bad settings like its ``python -m`` module,
before importing anything heavy, and the console script is installed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from nas_service.cli.main import COMMANDS

# one bad setting per command, and the start of the line it must print
BAD_SETTINGS = {
    "run": (["--epochs", "0"], "--epochs 0: must be at least 1"),
    "baselines": (["--method", "random", "--samples", "0"], "--samples 0: must be at least 1"),
    "compare": (["--epochs", "0"], "--epochs 0: must be at least 1"),
    "train": (["--depths", "2-2-2", "--epochs", "0"], "--epochs 0: must be at least 1"),
    "audit": (["--seeds", "1"], "--seeds 1: must be at least 2"),
    "transfer-to": (
        ["--run-id", "abc", "--dataset", "digits", "--epochs", "0"],
        "--epochs 0: must be at least 1",
    ),
    "report": (
        ["--run-id", "abc", "--tracking-uri", "sqlite:////nonexistent/m.db"],
        "--tracking-uri 'sqlite:////nonexistent/m.db': folder /nonexistent does not exist",
    ),
    "describe": (["--depths", "0-1-1"], "depths '0-1-1' must be positive integers"),
    "export": (
        ["--run-id", "abc", "--format", "pt2", "--output", "/nonexistent/x.pt2"],
        "--output /nonexistent/x.pt2: folder /nonexistent does not exist",
    ),
    "ensemble": (["--run-id", "abc", "--top", "0"], "--top 0: must be at least 1"),
    "prepare-data": (
        ["--output", "/nonexistent/set"],
        "--output /nonexistent/set: its parent folder /nonexistent does not exist",
    ),
}


def test_every_command_has_a_bad_setting_case():
    assert set(BAD_SETTINGS) == set(COMMANDS)


def test_every_command_refuses_bad_settings_before_importing_anything_heavy(tmp_path):
    """All nine in one process: each exits 2 with one line naming the value, and Ray, torch,
    MLflow, pandas and scikit-learn are still not imported at the end."""
    cases = {name: flags for name, (flags, _) in BAD_SETTINGS.items()}
    script = (
        "import contextlib, io, json, sys\n"
        "from nas_service.cli.main import main\n"
        "outcome = {}\n"
        f"for name, flags in {cases!r}.items():\n"
        "    err = io.StringIO()\n"
        "    with contextlib.redirect_stderr(err):\n"
        "        try:\n"
        "            status = main([name, *flags])\n"
        "        except SystemExit as stop:\n"
        "            status = stop.code\n"
        "    outcome[name] = [status, err.getvalue()]\n"
        "heavy = sorted(m for m in ('ray', 'torch', 'mlflow', 'pandas', 'sklearn') "
        "if m in sys.modules)\n"
        "print(json.dumps({'outcome': outcome, 'heavy': heavy}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    for name, (_, message) in BAD_SETTINGS.items():
        status, stderr = report["outcome"][name]
        assert status == 2, (name, stderr)
        assert stderr.splitlines() == [stderr.strip()], (name, stderr)  # one line
        assert stderr.startswith(f"stagewise-nas {name}: error: {message}"), (name, stderr)
    assert report["heavy"] == []


def test_the_console_script_lists_the_commands_and_refuses_unknown_ones():
    script = shutil.which("stagewise-nas", path=str(Path(sys.executable).parent))
    assert script is not None, "pip install -e . installs the stagewise-nas console script"
    shown = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0
    listed = [line.split()[0] for line in shown.stdout.splitlines() if line.startswith("  ")]
    assert listed == list(COMMANDS)
    unknown = subprocess.run([script, "serch"], capture_output=True, text=True, timeout=60)
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("stagewise-nas: error: unknown command 'serch'")
    bare = subprocess.run([script], capture_output=True, text=True, timeout=60)
    assert bare.returncode == 2 and bare.stderr.startswith("usage: stagewise-nas <command>")


def test_python_dash_m_package_is_the_console_command():
    done = subprocess.run(
        [sys.executable, "-m", "nas_service", "describe", "--depths", "0-1-1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("stagewise-nas describe: error: depths '0-1-1'")
