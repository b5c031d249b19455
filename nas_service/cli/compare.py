"""``stagewise-nas compare``: stage-wise, random search, ASHA and TPE at an equal budget
beside uniform networks, over one or several seeds (``--study K``: K seeds), or one stage-wise
search per importance criterion (``--criteria``) or per first depth (``--m0s``)
(``nas_service.methods.comparison``).

Settings and data are checked before Ray, MLflow and torch are imported (``nas_service.cli.common``).
Flags that would apply to stage-wise alone and make the comparison unequal (the resource limits,
``--final-epochs``) are not offered, nor ``--resume`` (a comparison is not resumable yet).
"""

from __future__ import annotations

from collections.abc import Sequence

from nas_service.cli.arguments import build_parser, parse_arguments
from nas_service.cli.common import run_command
from nas_service.config import SEARCH_ONLY
from nas_service.core.errors import ConfigError
from nas_service.validation import check_criterion
from nas_service.value_rules import SEED_LIMIT, parse_counts, parse_seeds
from scoring.criteria import CRITERIA

PROG = "stagewise-nas compare"
# stage-wise settings the baselines cannot follow, and resuming, which a comparison cannot do yet
NOT_COMPARABLE = ("max_macs", "max_params", "max_latency_ms", "final_epochs", "resume")
DEFAULT_STUDY_SEEDS = 3


def parse_criteria(text: str) -> list[str]:
    """Distinct criteria separated by commas: built-in names or import paths ``module:function``
    (``compare --criteria``, ``audit --criteria``)."""
    criteria = [part.strip() for part in text.split(",")]
    if not all(criteria) or len(set(criteria)) != len(criteria):
        raise ConfigError(
            f"--criteria {text!r}: must be distinct criteria separated by commas, e.g. {','.join(CRITERIA)}"
        )
    for criterion in criteria:
        check_criterion(criterion, flag="criteria")
    return criteria


def parse_m0s(text: str) -> list[int]:
    return parse_counts("--m0s", text, example="1,2,3")


def study_seeds(seeds_text: str | None, study: int | None, seed: int) -> list[int]:
    """``--seeds`` as given, else ``--study K`` seeds from ``--seed`` on, else ``--seed``."""
    if study is not None and study < 1:
        raise ConfigError(f"--study {study}: must be at least 1 seed")
    if seeds_text and study is not None:
        raise ConfigError(f"--study {study} and --seeds {seeds_text}: give one of them")
    if seeds_text:
        return parse_seeds("--seeds", seeds_text)
    if seed + (study or 1) > SEED_LIMIT:
        raise ConfigError(f"--study {study}: its seeds --seed {seed} .. {seed + study - 1} go past 2**32 - 1")
    return list(range(seed, seed + (study or 1)))


def main(argv: Sequence[str] | None = None, prog: str = PROG) -> int:
    parser = build_parser(
        prog,
        "Stage-wise, random search, ASHA and TPE at an equal budget, beside uniform networks.",
        omit=(*SEARCH_ONLY, *NOT_COMPARABLE),
    )
    parser.add_argument("--seeds", help="repeat with these seeds, e.g. 0,1,2 (default: --seed)")
    parser.add_argument(
        "--study",
        type=int,
        nargs="?",
        const=DEFAULT_STUDY_SEEDS,
        metavar="K",
        help=f"repeat with K seeds from --seed on (default K: "
        f"{DEFAULT_STUDY_SEEDS}); mean and spread in study.md",
    )
    parser.add_argument(
        "--criteria", help=f"compare importance criteria instead of search methods, e.g. {','.join(CRITERIA)}"
    )
    parser.add_argument(
        "--m0s",
        help="compare first depths instead of search methods: one "
        "stage-wise search per m0, e.g. 1,2,3 (the paper's Table I)",
    )
    parser.add_argument(
        "--searches-at-once",
        type=int,
        metavar="N",
        help="run at most N of the searches side by side (default: as many as "
        "the cluster has room for, each with its two trials; 1: one after the "
        "other)",
    )

    def command() -> None:
        arguments = vars(parser.parse_args(argv))
        seeds_text = arguments.pop("seeds", None)
        study = arguments.pop("study", None)
        criteria_text = arguments.pop("criteria", None)
        m0s_text = arguments.pop("m0s", None)
        at_most = arguments.pop("searches_at_once", None)
        config = parse_arguments(arguments, default_name="compare-{dataset}-{time}", needs_validation=True)
        criteria = parse_criteria(criteria_text) if criteria_text else None
        m0s = parse_m0s(m0s_text) if m0s_text is not None else None
        for flag, given, per in (("--criteria", criteria, "criterion"), ("--m0s", m0s, "m0")):
            if given and (seeds_text or study is not None):
                raise ConfigError(
                    f"{flag} runs one search per {per} with --seed; --seeds and "
                    "--study repeat the comparison of search methods"
                )
        if criteria and m0s:
            raise ConfigError("--criteria and --m0s: give one of them")
        if m0s and config.initial_depths:
            raise ConfigError(
                f"--m0s {m0s_text} and --initial-depths {config.initial_depths}: "
                "--m0s sets each search's first architecture"
            )
        if at_most is not None and at_most < 1:
            raise ConfigError(f"--searches-at-once {at_most}: must be at least 1")
        seeds = study_seeds(seeds_text, study, config.seed)
        data = config.load_data()
        from nas_service.methods.comparison import compare  # heavy
        from nas_service.methods.variants import compare_criteria, compare_m0

        if criteria:
            compare_criteria(config, criteria, data, at_most)
        elif m0s:
            compare_m0(config, m0s, data, at_most)
        else:
            compare(config, seeds, data, at_most)

    return run_command(prog, command)
