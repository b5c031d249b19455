"""``stagewise-nas report``: a search's report, rebuilt from MLflow alone
(``nas_service.reporting.report`` writes it).

The store and the run are checked before the seconds of imports the report needs (matplotlib,
pandas, MLflow, torch), so a wrong ``--tracking-uri`` or ``--run-id`` is one line at once.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from nas_service.cli.arguments import OneLineParser, add_setting
from nas_service.config import SearchConfig
from nas_service.core.errors import ConfigError
from nas_service.preflight import default_tracking_uri, require_existing_store

PROG = "stagewise-nas report"


def main(argv: Sequence[str] | None = None, prog: str = PROG) -> int:
    parser = OneLineParser(prog=prog, description="Rebuild a search's report from MLflow.")
    add_setting(parser, "experiment", default=SearchConfig.experiment, metavar="NAME")
    parser.add_argument("--run-id", help="parent run id (default: the newest stage-wise search)")
    add_setting(parser, "tracking_uri", metavar="URI")
    parser.add_argument("--output", help="folder for report.md and plots (default: ./report-<run>)")
    args = parser.parse_args(argv)
    tracking_uri = default_tracking_uri(args.tracking_uri)
    try:
        require_existing_store(tracking_uri)
    except ConfigError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
    from mlflow.tracking import MlflowClient

    from nas_service.reporting.report import (
        ReportError,
        report_parent_run,
        search_state,
        write_report,
    )

    client = MlflowClient(tracking_uri)
    try:
        parent = report_parent_run(client, args.experiment, args.run_id)
    except ReportError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
    output = Path(args.output or f"report-{parent.info.run_name}")
    state = search_state(parent)
    if state is not None:
        print(f"{prog}: note: {state}", file=sys.stderr)
    for path in write_report(client, parent.info.run_id, output):
        print(path)
    return 0
