"""``stagewise-nas run`` (``python -m nas_service.run``): the stage-wise search from the shell.

Bad settings end with one line on stderr and exit status 2 in well under a second: the settings
are checked before Ray, MLflow and torch are imported (``nas_service.cli.common``).
"""

from __future__ import annotations

from collections.abc import Sequence

from nas_service.api import run_resolved
from nas_service.cli.arguments import parse_config
from nas_service.cli.common import run_command

PROG = "python -m nas_service.run"


def main(argv: Sequence[str] | None = None, prog: str = PROG) -> int:
    return run_command(prog, lambda: run_resolved(parse_config(argv, prog=prog)))
