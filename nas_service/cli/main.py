"""``stagewise-nas <command>``: one console command for every entry point.

``python -m nas_service <command>`` is the same command; ``python -m nas_service.run`` (the
``ray job submit`` entrypoint) is ``run``.  A command's module under ``nas_service.cli`` is
imported when it is chosen, and checks its settings before importing Ray, MLflow or torch.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence

from nas_service import __version__

PROG = "stagewise-nas"
# command -> (module under nas_service.cli, one line for the help)
COMMANDS = {
    "run": (
        "run",
        "stage-wise search (the paper's method); --transfer-to tries the found network on another data set",
    ),
    "baselines": ("baselines", "random search, ASHA or Optuna TPE over the same depth space"),
    "compare": (
        "compare",
        "stage-wise and the baselines at an equal budget, beside uniform networks; --study K over seeds",
    ),
    "train": ("train", "train one given architecture, logged like a candidate"),
    "audit": (
        "audit",
        "whether each criterion's growth decisions predict what growing a stage "
        "does to accuracy (paired seeds, intervals)",
    ),
    "transfer-to": ("transfer_to", "train a found network on another data set"),
    "report": ("report", "rebuild a search's report from MLflow"),
    "describe": ("describe", "depth, parameters, MACs, memory and CPU latency of a network"),
    "export": (
        "export",
        "write a trained network as TorchScript, torch.export, a state dict or an MLflow model",
    ),
    "ensemble": ("ensemble", "average the softmax of the best candidates of searches"),
    "prepare-data": (
        "prepare_data",
        "write a data set's splits as memory-mapped arrays that "
        "every trial reads from shared storage (--dataset mapped)",
    ),
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"usage: {PROG} <command> [flags]   ({PROG} <command> --help for its flags)", "", "commands:"]
    lines += [f"  {name:<{width}}  {summary}" for name, (_, summary) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command named first in ``argv``; its exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        print(usage(), file=sys.stderr)
        return 2
    if argv[0] in ("-h", "--help"):
        print(usage())
        return 0
    if argv[0] == "--version":
        print(f"{PROG} {__version__}")
        return 0
    name, *flags = argv
    if name not in COMMANDS:
        print(f"{PROG}: error: unknown command {name!r} (choose from {', '.join(COMMANDS)})", file=sys.stderr)
        return 2
    module = importlib.import_module(f"nas_service.cli.{COMMANDS[name][0]}")
    try:
        return module.main(flags, prog=f"{PROG} {name}")
    except BrokenPipeError:  # `stagewise-nas describe ... | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit
        return 141  # as a shell reports a command ended by SIGPIPE
