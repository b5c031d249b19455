"""``python -m nas_service.compare``: stage-wise, random search and ASHA at an equal budget, or
one stage-wise search per importance criterion (``nas_service.comparison``).

Settings and data are checked before Ray, MLflow and torch are imported (``nas_service.cli``).
"""

from __future__ import annotations

import sys
from typing import Sequence

from nas_service.cli import run_command
from nas_service.config import SEARCH_ONLY, build_parser, parse_arguments
from nas_service.errors import ConfigError
from scoring.criteria import CRITERIA

PROG = "python -m nas_service.compare"


def parse_criteria(text: str) -> list[str]:
    criteria = [part.strip() for part in text.split(",")]
    unknown = [c for c in criteria if c not in CRITERIA]
    if unknown or len(set(criteria)) != len(criteria):
        raise ConfigError(f"--criteria {text!r}: must be distinct names among "
                          f"{', '.join(CRITERIA)}, separated by commas")
    return criteria


def parse_seeds(text: str) -> list[int]:
    try:
        seeds = [int(part) for part in text.split(",")]
    except ValueError:
        raise ConfigError(f"--seeds {text!r}: must be integers separated by commas, e.g. 0,1,2") from None
    return seeds


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser(PROG, "Stage-wise, random search and ASHA at an equal budget.",
                          omit=SEARCH_ONLY)
    parser.add_argument("--seeds", help="repeat with these seeds, e.g. 0,1,2 (default: --seed)")
    parser.add_argument("--criteria", help="compare importance criteria instead of search "
                        f"methods, e.g. {','.join(CRITERIA)}")

    def command() -> None:
        arguments = vars(parser.parse_args(argv))
        seeds_text = arguments.pop("seeds", None)
        criteria_text = arguments.pop("criteria", None)
        config = parse_arguments(arguments, default_name="compare-{dataset}-{time}",
                                 needs_validation=True)
        criteria = parse_criteria(criteria_text) if criteria_text else None
        seeds = parse_seeds(seeds_text) if seeds_text else [config.seed]
        data = config.load_data()
        from nas_service.comparison import compare, compare_criteria  # heavy, once checked

        if criteria:
            compare_criteria(config, criteria, data)
        else:
            compare(config, seeds, data)

    return run_command(PROG, command)


if __name__ == "__main__":
    sys.exit(main())
