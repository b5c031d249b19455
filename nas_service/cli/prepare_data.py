"""``stagewise-nas prepare-data --dataset imagenet32 --data-dir raw/ --output /shared/in32``:
write a data set's splits once as memory-mapped arrays, for searches that read it with
``--dataset mapped --data-dir /shared/in32`` (``trainables.datasets.mapped``).

The splits are made exactly as a search with the same data set flags makes them (loader,
``--val-fraction``, ``--max-train-images``, ``--seed``), so a search on the folder sees the same
images as one on the original files.  Preparing reads the set into this process's memory once;
the searches that use the folder then hold none of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from nas_service.cli.arguments import OneLineParser, add_setting, parse_data_arguments
from nas_service.cli.common import run_command
from nas_service.config import DATA_SETTINGS
from nas_service.ray_job import require_outside_working_dir_copy
from trainables.datasets.mapped import check_new_folder, write_mapped

PROG = "stagewise-nas prepare-data"


def main(argv: Sequence[str] | None = None, prog: str = PROG) -> int:
    parser = OneLineParser(
        prog=prog,
        argument_default=None,
        allow_abbrev=False,
        description="Write a data set's splits as memory-mapped arrays for --dataset mapped.",
    )
    for name in DATA_SETTINGS:
        add_setting(parser, name, default=None)
    parser.add_argument(
        "--output",
        required=True,
        help="the new folder to write (on storage every node of the cluster mounts at the same path)",
    )

    def command() -> None:
        arguments = vars(parser.parse_args(argv))
        output = arguments.pop("output")
        config = parse_data_arguments({name: value for name, value in arguments.items() if value is not None})
        check_new_folder(output)  # before the seconds that loading takes
        require_outside_working_dir_copy(
            "--output", output, Path(output), "give a folder that outlives the job"
        )
        data = config.load_splits()

        source = {name: getattr(config, name) for name in DATA_SETTINGS}
        folder = write_mapped(data, output, source).resolve()
        print(f"{data.summary()}\nwritten to {folder}: search it with --dataset mapped --data-dir {folder}")

    return run_command(prog, command)
