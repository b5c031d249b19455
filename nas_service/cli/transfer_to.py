"""``stagewise-nas transfer-to --run-id RUN --dataset NAME``: a found network on another
data set (``nas_service.methods.cross_dataset``), for a search that already ran; ``run --transfer-to``
does the same right after its search.

``--run-id`` is a search's parent run (its found network) or any candidate's run.  Every search
flag sets the protocol on the new data (``--dataset``, ``--data-dir``, ``--epochs``,
``--finetune-epochs``, ``--references``...); the architecture, module type and widths come from
the run.
"""

from __future__ import annotations

from collections.abc import Sequence

from nas_service.cli.arguments import build_parser, parse_arguments
from nas_service.cli.common import run_command
from nas_service.config import ARCHITECTURE, BUDGET, SCORING, SEARCH_ONLY, SPACE, STAGEWISE_ONLY

PROG = "stagewise-nas transfer-to"


def main(argv: Sequence[str] | None = None, prog: str = PROG) -> int:
    parser = build_parser(
        prog,
        "Train a found network on another data set: from scratch, "
        "fine-tuned, and beside the uniform network of closest MACs.",
        # --run-id names the network, which brings its depths, module and widths
        omit=(*SEARCH_ONLY, *STAGEWISE_ONLY, *SCORING, *SPACE, *ARCHITECTURE, *BUDGET, "transfer_from"),
    )
    parser.add_argument(
        "--run-id", help="a search's parent run or a candidate's run (required unless --resume)"
    )

    def command() -> dict:
        arguments = vars(parser.parse_args(argv))
        run_id = arguments.pop("run_id", None)
        if run_id is None and not arguments.get("resume"):
            parser.error("the following arguments are required: --run-id")
        if run_id is not None:
            arguments["transfer_from"] = f"runs:/{run_id}"
        config = parse_arguments(arguments, default_name="transfer-{dataset}-{time}", needs_validation=True)
        data = None if config.resume else config.load_data()
        from nas_service.methods.cross_dataset import transfer_found_network  # heavy imports, once checked

        return transfer_found_network(config, data)

    return run_command(prog, command)
