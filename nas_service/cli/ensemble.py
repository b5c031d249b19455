"""``stagewise-nas ensemble``: the ensemble of the best
candidates (``nas_service.reporting.ensemble``) from the shell."""

from __future__ import annotations

from collections.abc import Sequence

from nas_service.cli.arguments import OneLineParser, add_setting
from nas_service.cli.common import run_command
from nas_service.core.errors import ConfigError
from nas_service.preflight import default_tracking_uri, require_existing_store

PROG = "stagewise-nas ensemble"


def main(argv: Sequence[str] | None = None, prog: str = PROG) -> int:
    parser = OneLineParser(prog=prog, description="Ensemble the best candidates of searches.")
    scope = parser.add_mutually_exclusive_group(required=True)
    scope.add_argument("--experiment", help="every search of this MLflow experiment")
    scope.add_argument("--run-id", help="one search's parent run")
    parser.add_argument("--top", type=int, default=3, help="members: the K best by val accuracy")
    add_setting(parser, "tracking_uri", metavar="URI")

    def command() -> dict:
        args = parser.parse_args(argv)
        if args.top < 1:
            raise ConfigError(f"--top {args.top}: must be at least 1")
        tracking_uri = default_tracking_uri(args.tracking_uri)
        require_existing_store(tracking_uri)  # before the imports, which take seconds
        from nas_service.reporting.ensemble import ensemble

        return ensemble(tracking_uri, args.top, args.experiment, args.run_id)

    return run_command(prog, command)
