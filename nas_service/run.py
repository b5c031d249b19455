"""``python -m nas_service.run``: the stage-wise search (``nas_service.stagewise``) from the shell.

Bad settings end with one line on stderr and exit status 2 in well under a second: the settings
are checked before Ray, MLflow and torch are imported (``nas_service.cli``).
"""

from __future__ import annotations

import sys
from typing import Sequence

from nas_service.cli import run_command
from nas_service.config import parse_config

PROG = "python -m nas_service.run"


def main(argv: Sequence[str] | None = None) -> int:
    def command() -> dict:
        config = parse_config(argv, prog=PROG)
        data = None if config.resume else config.load_data()  # a resumed search loads its own
        from nas_service.stagewise import search  # the heavy imports, once settings and data are good

        return search(config, data)

    return run_command(PROG, command)


if __name__ == "__main__":
    sys.exit(main())
