"""``python -m nas_service.run``: the stage-wise search (``nas_service.stagewise``) from the shell.

Bad settings end with one line on stderr and exit status 2 in well under a second: the settings
are checked before Ray, MLflow and torch are imported (``nas_service.cli``).
"""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import Sequence

from nas_service.cli import run_command
from nas_service.config import parse_config
from nas_service.errors import SearchFailed
from nas_service.limits import growth_costs

PROG = "python -m nas_service.run"


def main(argv: Sequence[str] | None = None) -> int:
    def command() -> dict:
        config = parse_config(argv, prog=PROG)
        data = None if config.resume else config.load_data()  # a resumed search loads its own
        transfer_data = config.load_transfer_data() if config.transfer_to and data else None
        costs = growth_costs(config, data) if data is not None else None  # the first A fits
        from nas_service.stagewise import search  # the heavy imports, once settings and data are good

        record = search(config, data, costs)
        settings = record["settings"]  # a resumed search's are its saved ones
        if settings.transfer_to:
            found_run_id = record["measures"].get("mlflow_run_id")
            if found_run_id is None:
                raise SearchFailed(f"--transfer-to {settings.transfer_to}: the search ended "
                                   f"before its found network {record['depths']} was trained")
            from nas_service.cross_dataset import transfer_found_network, transfer_started

            target = settings.transfer_target(found_run_id)
            if config.resume and transfer_started(target):  # continue it, do not start over
                target, transfer_data = replace(target, resume=True), None
            record["transfer"] = transfer_found_network(target, transfer_data)
        return record

    return run_command(PROG, command)


if __name__ == "__main__":
    sys.exit(main())
