"""``stagewise-nas audit``: whether each criterion's growth decisions predict what growing a stage
does to accuracy, on your data (``nas_service.methods.audit``).

Settings and data are checked before Ray, MLflow and torch are imported, with the same one-line
errors as ``run``.  The flags of a search of many networks (iterations, budgets, the stage-wise
decision's own settings) are not offered: the audit trains a fixed set of networks.  With
``--from-search NAME`` it audits every iteration of a finished search with that search's saved
settings, so only where the search lives and the audit's own name may be given besides.
"""

from __future__ import annotations

from collections.abc import Sequence

from nas_service.cli.arguments import OMITTED_KEY, build_parser, parse_arguments
from nas_service.cli.common import run_command
from nas_service.cli.compare import parse_criteria
from nas_service.config import BUDGET, SEARCH_LOCATION, SEARCH_ONLY, STAGEWISE_ONLY, SearchConfig
from nas_service.core.errors import ConfigError
from nas_service.preflight import require_existing_store
from scoring.criteria import CRITERIA

PROG = "stagewise-nas audit"
DEFAULT_SEEDS = 3
NOT_AUDITED = ("iterations", "references", "criterion", "resume", "initial_depths")


def parse_fractions(text: str) -> list[float]:
    """``--score-at 0.25,0.5,1``: distinct fractions of training in (0, 1], ascending."""
    try:
        fractions = [float(part) for part in text.split(",")]
    except ValueError:
        fractions = []
    if not fractions or any(not 0 < f <= 1 for f in fractions) or len(set(fractions)) != len(fractions):
        raise ConfigError(
            f"--score-at {text!r}: must be distinct fractions of training in (0, 1] "
            "separated by commas, e.g. 0.25,0.5,1"
        )
    return sorted(fractions)


def main(argv: Sequence[str] | None = None, prog: str = PROG) -> int:
    parser = build_parser(
        prog,
        "Whether each criterion's growth decisions predict what growing a "
        "stage does to accuracy: trains A, T and every single-stage child "
        "from paired seeds.",
        omit=(*SEARCH_ONLY, *STAGEWISE_ONLY, *BUDGET, *NOT_AUDITED),
    )
    parser.add_argument(
        "--depths",
        help="the audited network A as m1-m2-..-mS (default: --m0 modules in each of --stages stages)",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=DEFAULT_SEEDS,
        metavar="K",
        help=f"init seeds --seed .. --seed+K-1; each trains A, T and every child (default {DEFAULT_SEEDS})",
    )
    parser.add_argument(
        "--criteria",
        default=",".join(CRITERIA),
        help="criteria to audit, built-in or module:function (default: every "
        f"built-in, {','.join(CRITERIA)})",
    )
    parser.add_argument(
        "--interval-level",
        type=float,
        default=0.95,
        metavar="LEVEL",
        help="level of the t-intervals over seeds; a stage is decided when its "
        "gain interval excludes 0 (default 0.95)",
    )
    parser.add_argument(
        "--score-at",
        default="1",
        metavar="FRACTIONS",
        help="also score A and T at these fractions of training, e.g. "
        "0.25,0.5,1: from how early a criterion's decisions agree (default 1)",
    )

    parser.add_argument(
        "--from-search",
        metavar="NAME",
        help="audit every iteration of the finished stage-wise search NAME with "
        "its saved settings, reusing the A and T it trained (its MLflow store "
        "and experiment: --tracking-uri, --experiment)",
    )

    def command() -> dict:
        arguments = vars(parser.parse_args(argv))
        seeds = arguments.pop("seeds", DEFAULT_SEEDS)
        criteria_text = arguments.pop("criteria", ",".join(CRITERIA))
        score_at = arguments.pop("score_at", "1")
        level = arguments.pop("interval_level", 0.95)
        from_search = arguments.pop("from_search", None)
        if "depths" in arguments:
            arguments["initial_depths"] = arguments.pop("depths")
        if from_search is not None:
            check_from_search(from_search, arguments, score_at)
            default_name = f"audit-{from_search}-{{time}}"
        else:
            default_name = "audit-{dataset}-{time}"
        config = parse_arguments(arguments, default_name=default_name, needs_validation=True)
        if seeds < 2:
            raise ConfigError(
                f"--seeds {seeds}: must be at least 2 (an accuracy gain needs an interval over seeds)"
            )
        if config.seed + seeds - 1 >= 2**32:
            raise ConfigError(f"--seeds {seeds}: --seed {config.seed} + {seeds - 1} is past 2**32 - 1")
        if not 0 < level < 1:
            raise ConfigError(f"--interval-level {level}: must be between 0 and 1, e.g. 0.95")
        criteria = parse_criteria(criteria_text)
        fractions = parse_fractions(score_at)
        if from_search is None:
            data = config.load_data()
            from nas_service.core.audit import AuditedA
            from nas_service.methods.audit import audit  # heavy imports, once input is good

            audited = [AuditedA(config.start_depths, tuple(range(config.seed, config.seed + seeds)))]
            return audit(config, audited, criteria, fractions, level, data)
        require_existing_store(config.tracking_uri)
        from nas_service.methods.audit import audit
        from nas_service.methods.audit_search import searched_iterations

        config, search, audited = searched_iterations(config, from_search, seeds)
        return audit(config, audited, criteria, fractions, level, config.load_data(), search)

    return run_command(prog, command)


def check_from_search(name: str, arguments: dict, score_at: str) -> None:
    """``--from-search`` takes the search's settings: a setting given besides where it lives and
    the audit's name would be ignored, and the search kept only final checkpoints."""
    given = sorted(
        key
        for key in arguments
        if key != OMITTED_KEY and key in SearchConfig.__dataclass_fields__ and key not in SEARCH_LOCATION
    )
    if given:
        flag = "depths" if given[0] == "initial_depths" else given[0].replace("_", "-")
        raise ConfigError(
            f"--{flag} {arguments[given[0]]!r}: --from-search {name} audits with "
            "the search's saved settings, so this would be ignored: give only "
            "--name and where the search lives (--storage-path, --tracking-uri, "
            "--experiment)"
        )
    if parse_fractions(score_at) != [1.0]:
        raise ConfigError(
            f"--score-at {score_at!r}: a search keeps its networks' final "
            f"checkpoints only, so --from-search {name} scores at the end of "
            "training (--score-at 1)"
        )
