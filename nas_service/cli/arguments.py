"""Settings from the command line and a ``--config`` YAML file: one flag per ``SearchConfig``
setting, a YAML key per flag, then checked as the Python API's settings are
(``nas_service.validation``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import fields
from typing import Any

import yaml

from nas_service.config import SearchConfig, setting_kind
from nas_service.core.errors import ConfigError
from nas_service.validation import DEFAULT_NAME, check_type, resolve_settings, validate
from nas_service.value_rules import flag_of, read_utf8


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports errors in one line (no usage block), exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


OMITTED_KEY = "_omitted_settings"


def build_parser(
    prog: str = "python -m nas_service.run",
    description: str = "Stage-wise neural architecture search on Ray Tune.",
    omit: Sequence[str] = (),
) -> argparse.ArgumentParser:
    """Every ``SearchConfig`` setting but ``omit`` as a flag; flags not given are absent from the
    namespace."""
    # no abbreviations: "--epoch 3" is a typo to report, and a new flag must not change old ones
    parser = OneLineParser(
        prog=prog, description=description, argument_default=argparse.SUPPRESS, allow_abbrev=False
    )
    parser.add_argument("--config", help="YAML file with any of the settings below")
    # parse_arguments refuses these in the --config file too
    parser.set_defaults(**{OMITTED_KEY: tuple(omit)})
    for declared in fields(SearchConfig):
        if declared.name not in omit:
            add_setting(parser, declared.name)
    return parser


def add_setting(parser: argparse.ArgumentParser, name: str, **overrides: Any) -> None:
    """The flag of setting ``name`` as declared in ``SearchConfig`` (commands that take only a
    few settings, such as ``report``, add theirs this way); ``overrides`` go to argparse."""
    declared = next(f for f in fields(SearchConfig) if f.name == name)
    kind, _ = setting_kind(name)
    choices = next((rule.choices for rule in declared.metadata["rules"] if rule.choices), ())
    # the declared choices shown in --help; the value is checked with the others (one message)
    metavar = "{" + ",".join(choices) + "}" if choices else kind.__name__.upper()
    options: dict[str, Any] = {"action": "store_true"} if kind is bool else {"type": kind, "metavar": metavar}
    parser.add_argument(flag_of(name), dest=name, help=declared.metadata["help"], **{**options, **overrides})


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice (plain YAML keeps the last silently)."""

    def construct_mapping(self, node, deep=False):
        keys = [self.construct_object(key, deep=deep) for key, _ in node.value]
        repeated = next((key for index, key in enumerate(keys) if key in keys[:index]), None)
        if repeated is not None:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {repeated!r} is given twice", node.start_mark
            )
        return super().construct_mapping(node, deep)


def _read_yaml(path: str) -> dict[str, Any]:
    text = read_utf8("--config", path)
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as error:
        raise ConfigError(f"--config {path}: not valid YAML ({str(error).splitlines()[0]})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"--config {path}: must be a mapping of settings, got {type(data).__name__}")
    known = {f.name for f in fields(SearchConfig)}
    settings = {}
    for key, value in data.items():
        name = str(key).replace("-", "_")
        if name not in known:
            raise ConfigError(
                f"--config {path}: unknown key {key!r}; valid keys: "
                f"{', '.join(sorted(k.replace('_', '-') for k in known))}"
            )
        settings[name] = value
    return settings


def parse_config(argv: Sequence[str] | None = None, prog: str = "python -m nas_service.run") -> SearchConfig:
    """Defaults, then ``--config`` YAML, then flags; validated.  Raises ``ConfigError``."""
    arguments = vars(build_parser(prog).parse_args(sys.argv[1:] if argv is None else argv))
    return parse_arguments(arguments)


def parse_arguments(
    arguments: dict[str, Any], default_name: str = DEFAULT_NAME, needs_validation: bool = False
) -> SearchConfig:
    """Parsed flags (and their ``--config`` file) -> a validated ``SearchConfig``.
    ``needs_validation``: the entry point chooses or reports by validation accuracy, so
    ``--val-fraction 0`` is refused."""
    arguments = dict(arguments)
    omitted = arguments.pop(OMITTED_KEY, ())
    settings = {}
    if "config" in arguments:
        path = arguments.pop("config")
        settings = _read_yaml(path)
        refused = [key for key in settings if key in omitted]
        if refused:
            raise ConfigError(
                f"--config {path}: {refused[0].replace('_', '-')} does not apply to "
                "this command (it is not one of its flags either)"
            )
    settings.update(arguments)
    return resolve_settings(settings, default_name, needs_validation)


def parse_data_arguments(arguments: dict[str, Any]) -> SearchConfig:
    """Parsed data set flags (``DATA_SETTINGS``) -> a ``SearchConfig`` checked as a search checks
    them; nothing outside this process is asked (Ray, MLflow and the storage are not used)."""
    return validate(SearchConfig(**{name: check_type(name, value) for name, value in arguments.items()}))
