"""``stagewise-nas export``: a trained candidate as a file
that runs elsewhere (``nas_service.reporting.export``, which lists the formats)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from nas_service.cli.arguments import OneLineParser, add_setting
from nas_service.cli.common import run_command
from nas_service.core.errors import ConfigError
from nas_service.preflight import default_tracking_uri, require_existing_store
from nas_service.reporting.export_formats import (
    DEFAULT_ALIAS,
    FORMATS,
    SUFFIXES,
    checked_alias,
    checked_model_name,
    writable_output,
)

PROG = "stagewise-nas export"


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    parser = OneLineParser(prog=prog, description="Export a trained candidate.")
    parser.add_argument("--run-id", required=True, help="a candidate's or a search's MLflow run")
    parser.add_argument("--format", required=True, choices=FORMATS)
    parser.add_argument("--output", help="file or folder to write (default: ./<run id><suffix>)")
    add_setting(parser, "tracking_uri", metavar="URI")
    parser.add_argument(
        "--register",
        metavar="NAME",
        help="also register it in the MLflow model registry under this name (a new version)",
    )
    parser.add_argument(
        "--alias",
        help="the registry alias moved to that version (default "
        f"{DEFAULT_ALIAS}; load with models:/NAME@ALIAS); needs --register",
    )
    return parser


def main(argv: Sequence[str] | None = None, prog: str = PROG) -> int:
    parser = build_parser(prog)

    def command() -> Path:
        args = parser.parse_args(argv)
        tracking_uri = default_tracking_uri(args.tracking_uri)
        writable_output(Path(args.output or f"{args.run_id}{SUFFIXES[args.format]}"), args.format)
        if args.alias is not None and not args.register:
            raise ConfigError(f"--alias {args.alias}: needs --register NAME (the model it names)")
        alias = checked_alias(args.alias if args.alias is not None else DEFAULT_ALIAS)
        if args.register is not None:
            checked_model_name(args.register)
        require_existing_store(tracking_uri)  # all before the imports, which take seconds
        from nas_service.reporting.export import export

        return export(args.run_id, args.format, args.output, tracking_uri, args.register, alias)

    return run_command(prog, command)
