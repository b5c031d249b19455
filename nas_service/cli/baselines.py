"""``stagewise-nas baselines --method random|asha|tpe``: the baselines
(``nas_service.methods.baselines``) from the shell; settings are checked before the heavy imports."""

from __future__ import annotations

from collections.abc import Sequence

from nas_service.cli.arguments import build_parser, parse_arguments
from nas_service.cli.common import run_command
from nas_service.config import SCORING, SEARCH_ONLY, STAGEWISE_ONLY
from nas_service.validation import BASELINE_METHODS, check_baseline

PROG = "stagewise-nas baselines"


def main(argv: Sequence[str] | None = None, prog: str = PROG) -> int:
    parser = build_parser(
        prog,
        "Random search, ASHA or Optuna TPE over the stage-wise depth space.",
        omit=(*SEARCH_ONLY, *STAGEWISE_ONLY, *SCORING, "references"),
    )
    parser.add_argument("--method", required=True, choices=BASELINE_METHODS)
    parser.add_argument("--samples", type=int, help="networks to sample (default: from the budget)")

    def command() -> dict:
        arguments = vars(parser.parse_args(argv))
        method, samples = arguments.pop("method"), arguments.pop("samples", None)
        config = parse_arguments(
            arguments, default_name=f"{method}-{{dataset}}-{{time}}", needs_validation=True
        )
        check_baseline(config, method, samples)
        data = None if config.resume else config.load_data()  # a resumed one loads its own
        from nas_service.methods.baselines import baseline  # heavy imports, once settings are good

        return baseline(config, method, samples, data)

    return run_command(prog, command)
