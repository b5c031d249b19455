"""``python -m nas_service.baselines --method random|asha|tpe``: the baselines
(``nas_service.baseline_search``) from the shell; settings are checked before the heavy imports."""

from __future__ import annotations

import sys
from typing import Sequence

from nas_service.cli import run_command
from nas_service.config import (SCORING, SEARCH_ONLY, STAGEWISE_ONLY, SearchConfig, build_parser,
                                parse_arguments)
from nas_service.errors import ConfigError

PROG = "python -m nas_service.baselines"
METHODS = ("random", "asha", "tpe")


def check_baseline(config: SearchConfig, method: str, samples: int | None) -> None:
    """A baseline needs a known method and something that bounds it (a sample count or budget)."""
    if method not in METHODS:
        raise ConfigError(f"--method {method!r}: must be one of {', '.join(METHODS)}")
    if samples is not None and samples < 1:
        raise ConfigError(f"--samples {samples}: must be at least 1")
    if samples is not None and config.resume:
        raise ConfigError(f"--samples {samples}: --resume continues with the saved search's "
                          "number of networks, so this would be ignored")
    if samples is None and config.budget_images is None and not config.resume:
        raise ConfigError("--samples or --budget-images is required for a baseline")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser(PROG, "Random search, ASHA or Optuna TPE over the stage-wise depth space.",
                          omit=(*SEARCH_ONLY, *STAGEWISE_ONLY, *SCORING, "references"))
    parser.add_argument("--method", required=True, choices=METHODS)
    parser.add_argument("--samples", type=int, help="networks to sample (default: from the budget)")

    def command() -> dict:
        arguments = vars(parser.parse_args(argv))
        method, samples = arguments.pop("method"), arguments.pop("samples", None)
        config = parse_arguments(arguments, default_name=f"{method}-{{dataset}}-{{time}}",
                                 needs_validation=True)
        check_baseline(config, method, samples)
        data = None if config.resume else config.load_data()  # a resumed one loads its own
        from nas_service.baseline_search import baseline  # heavy imports, once settings are good

        return baseline(config, method, samples, data)

    return run_command(PROG, command)


if __name__ == "__main__":
    sys.exit(main())
