"""``stagewise-nas train --depths 9-9-9``: one architecture with a search's protocol
(``nas_service.methods.single``); every flag that shapes one network's training applies (data set,
preset, epochs, module...), and those of a search of many networks (depth space, budget,
scoring, references) are not offered."""

from __future__ import annotations

from collections.abc import Sequence

from nas_service.cli.arguments import build_parser, parse_arguments
from nas_service.cli.common import run_command
from nas_service.config import BUDGET, SCORING, SEARCH_ONLY, SPACE, STAGEWISE_ONLY

PROG = "stagewise-nas train"


def main(argv: Sequence[str] | None = None, prog: str = PROG) -> int:
    parser = build_parser(
        prog,
        "Train one architecture, logged to MLflow like a candidate.",
        omit=(*SEARCH_ONLY, *STAGEWISE_ONLY, *SCORING, *SPACE, *BUDGET, "references"),
    )
    parser.add_argument("--depths", help="modules per stage, e.g. 9-9-9 (required unless --resume)")

    def command() -> dict:
        arguments = vars(parser.parse_args(argv))
        if "depths" not in arguments and not arguments.get("resume"):
            parser.error("the following arguments are required: --depths")
        if "depths" in arguments:
            arguments["initial_depths"] = arguments.pop("depths")
        config = parse_arguments(arguments, default_name="train-{dataset}-{time}", needs_validation=True)
        data = None if config.resume else config.load_data()  # a resumed run loads its own
        from nas_service.methods.single import train_one  # heavy imports, once settings and data are good

        return train_one(config, data)

    return run_command(prog, command)
