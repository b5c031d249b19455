"""Every setting's value checked before anything runs, and the defaults that depend on the module
type, the working directory and the time filled in.  A bad value raises ``ConfigError`` naming the
flag and the value; the CLI turns it into one line on stderr and exit status 2.  What must hold
outside this process (stores, storage, cluster) is ``nas_service.preflight``'s."""

from __future__ import annotations

import math
import os
import re
import time
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from nas_service.config import RESUME_READS, SearchConfig, setting_kind
from nas_service.core.errors import ConfigError
from nas_service.preflight import default_tracking_uri, preflight, sqlite_path, storage_location
from nas_service.value_rules import check_path, check_seed, flag_of, parse_counts, require
from scoring.criteria import CRITERIA, get_criterion
from trainables.datasets import LOADERS, DatasetError, loader
from trainables.datasets.mapped import validation_images
from trainables.metrics.emissions import known_countries
from trainables.module_types import module_type
from trainables.spec import parse_depths


def check_type(name: str, value: Any) -> Any:
    """``value`` as the type setting ``name`` declares, or a ``ConfigError`` naming both."""
    converter, optional = setting_kind(name)
    if value is None and optional:
        return None
    if converter is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{flag_of(name)} {value!r}: must be true or false")
        return value
    flag, kind = f"{flag_of(name)} {value!r}", converter.__name__
    if converter is int and isinstance(value, float) and not value.is_integer():
        raise ConfigError(f"{flag}: must be an integer")
    if converter is not str and isinstance(value, bool):  # YAML's `epochs: true` is not 1
        raise ConfigError(f"{flag}: must be {kind}, not true or false")
    try:
        converted = converter(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{flag}: must be {kind}") from None
    if converter is float and not math.isfinite(converted):
        raise ConfigError(f"{flag}: must be a finite number")
    return converted


DEFAULT_NAME = "stagewise-{dataset}-{time}"
# a search's name is a folder name under the storage path: nothing that could leave it or need quoting
SEARCH_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def validate(config: SearchConfig, default_name: str = DEFAULT_NAME) -> SearchConfig:
    """Check every value and fill in the defaults that depend on the module type, the working
    directory and the time; returns a new config.  Reads no file and asks no server: what must
    hold outside this process is ``preflight``'s."""
    config = replace(config)
    for flag in ("data_dir", "transfer_data_dir", "transfer_from"):  # ~ from YAML, or --x=~/..
        value = getattr(config, flag)
        if value and not value.startswith("runs:/"):
            setattr(config, flag, os.path.expanduser(value))
            check_path(flag_of(flag), getattr(config, flag))
    if config.storage_path and "://" not in config.storage_path:
        check_path("--storage-path", config.storage_path)
    if config.tracking_uri and config.tracking_uri.startswith("sqlite:///"):
        check_path("--tracking-uri", sqlite_path(config.tracking_uri))
    check_dataset("dataset", config.dataset)
    try:
        kind = module_type(config.module)
    except ValueError as error:  # "module 'x': <what is wrong>"
        raise ConfigError(f"--{error}") from None
    if config.stages is None and config.initial_depths:
        config.stages = len(str(config.initial_depths).split("-"))
    for flag in ("m0", "stages", "delta"):  # the module type's defaults
        if getattr(config, flag) is None:
            setattr(config, flag, getattr(kind, flag))
    check_declared_rules(config)
    check_criterion(config.criterion)
    require(
        config.min_confidence == 0 or config.bootstrap >= 10,
        "min-confidence",
        config.min_confidence,
        f"needs --bootstrap of at least 10 (got {config.bootstrap})",
    )
    if config.transfer_to is not None:
        check_dataset("transfer-to", config.transfer_to)
    _check_workers(config)
    require(
        config.country.upper() in known_countries(),
        "country",
        config.country,
        "must be an ISO 3166-1 alpha-3 code that codecarbon knows, e.g. USA, FRA, DEU",
    )
    config.country = config.country.upper()
    if config.references is not None:
        parse_counts("--references", config.references)
    check_seed("--seed", config.seed)
    if config.initial_depths is not None:
        try:
            parse_depths(config.initial_depths)
        except ValueError as error:
            raise ConfigError(f"--initial-depths: {error}") from None
    # on clusters both usually come from the environment (deploy/): MLflow's own variable and ours
    config.tracking_uri = default_tracking_uri(config.tracking_uri)
    config.storage_path = storage_location(
        config.storage_path or os.environ.get("NAS_STORAGE_PATH") or str(Path.cwd() / "nas_results")
    )
    if config.name is None:
        config.name = default_name.format(dataset=config.dataset, time=time.strftime("%Y%m%d-%H%M%S"))
    require(
        SEARCH_NAME.fullmatch(config.name) is not None,
        "name",
        config.name,
        "must be 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit "
        "(it names a folder under --storage-path and the MLflow parent run)",
    )
    return config


def check_declared_rules(config: SearchConfig) -> None:
    """The rules each setting declares (``nas_service.config.setting``), in declaration order."""
    for declared in fields(SearchConfig):
        for rule in declared.metadata["rules"]:
            rule.check(
                declared.name, getattr(config, declared.name), lambda other: bool(getattr(config, other))
            )


def _check_workers(config: SearchConfig) -> None:
    """Data-parallel workers split every global batch evenly, and each holds whole GPUs: NCCL
    cannot join two ranks on one device."""
    workers = config.workers_per_trial
    if workers == 1:
        return
    batch_size = config.training().batch_size
    require(
        batch_size % workers == 0,
        "workers-per-trial",
        workers,
        f"must divide the batch size {batch_size} (the global batch, split evenly over the "
        "workers): choose --batch-size accordingly",
    )
    gpus = config.gpus_per_trial
    require(
        gpus is None or gpus == 0 or (gpus >= 1 and gpus == int(gpus)),
        "gpus-per-trial",
        gpus,
        f"must be 0 or a whole number of GPUs with --workers-per-trial {workers} "
        "(each worker holds its own devices)",
    )


BASELINE_METHODS = ("random", "asha", "tpe")


def check_baseline(config: SearchConfig, method: str, samples: int | None) -> None:
    """A baseline needs a known method and something that bounds it (a sample count or budget)."""
    if method not in BASELINE_METHODS:
        raise ConfigError(f"--method {method!r}: must be one of {', '.join(BASELINE_METHODS)}")
    if samples is not None and samples < 1:
        raise ConfigError(f"--samples {samples}: must be at least 1")
    if samples is not None and config.resume:
        raise ConfigError(
            f"--samples {samples}: --resume continues with the saved search's "
            "number of networks, so this would be ignored"
        )
    if samples is None and config.budget_images is None and not config.resume:
        raise ConfigError("--samples or --budget-images is required for a baseline")


def check_dataset(flag: str, name: str) -> None:
    """A built-in data set (not imported: digits would import scikit-learn), or an import path
    that imports to a loader function."""
    if name in LOADERS:
        return
    try:
        loader(name)
    except DatasetError as error:
        raise ConfigError(str(error).replace("--dataset", f"--{flag}", 1)) from None


def check_criterion(name: str, flag: str = "criterion") -> None:
    """A built-in criterion, or an import path that imports to a function; ``flag`` names the
    flag that gave it (``--criterion``, ``--criteria``)."""
    if name in CRITERIA:
        return
    require(
        ":" in name, flag, name, f"must be one of {', '.join(CRITERIA)} or an import path module:function"
    )
    try:
        get_criterion(name)
    except ValueError as error:
        raise ConfigError(f"--{flag}: {error}") from None


def resolve(
    config: SearchConfig, default_name: str = DEFAULT_NAME, needs_validation: bool = False
) -> SearchConfig:
    """A ``SearchConfig`` built in Python, checked exactly as the command line checks its flags
    (the settings that differ from the defaults count as given).  Returns a new, validated
    config with the defaults that depend on the working directory and the time filled in;
    ``config`` itself is left as it was.  Raises ``ConfigError`` naming the bad setting."""
    defaults = SearchConfig()
    given = {
        f.name: getattr(config, f.name)
        for f in fields(SearchConfig)
        if getattr(config, f.name) != getattr(defaults, f.name)
    }
    return resolve_settings(given, default_name, needs_validation)


def resolve_settings(settings: dict[str, Any], default_name: str, needs_validation: bool) -> SearchConfig:
    """The settings given (flags, a YAML file or a Python config), typed and validated."""
    typed = {name: check_type(name, value) for name, value in settings.items()}
    if typed.get("initial_depths") and "stages" in typed:
        require(
            len(str(typed["initial_depths"]).split("-")) == typed["stages"],
            "initial-depths",
            typed["initial_depths"],
            f"has {len(str(typed['initial_depths']).split('-'))} stages but --stages is {typed['stages']}",
        )
    ignored = sorted(set(typed) - set(RESUME_READS)) if typed.get("resume") else []
    if ignored:
        raise ConfigError(
            f"{flag_of(ignored[0])} {typed[ignored[0]]!r}: --resume "
            "continues with the search's saved settings, so this would be ignored: "
            "give only --name and where the search lives (--storage-path, "
            "--tracking-uri, --experiment)"
        )
    require(
        not needs_validation or typed.get("val_fraction") != 0,
        "val-fraction",
        0.0,
        "this command chooses and reports networks by validation accuracy; only the "
        "stage-wise search (stagewise-nas run) trains without a validation split",
    )
    config = validate(SearchConfig(**typed), default_name)
    if needs_validation and config.dataset == "mapped" and config.data_dir:
        require(
            validation_images(config.data_dir) != 0,
            "data-dir",
            config.data_dir,
            "this prepared data set has no validation split (it was written with "
            "--val-fraction 0), and this command chooses and reports networks by validation "
            "accuracy: prepare one with a validation split",
        )
    preflight(config)
    return config
