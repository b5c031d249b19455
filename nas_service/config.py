"""The search configuration: defaults, a YAML file, then command-line flags, validated up front.

Each setting is declared once, as a field of ``SearchConfig`` (``setting``: default, help text,
groups); its flag, its YAML key (spelled like the flag, with ``-`` or ``_``), its type check and
its MLflow param derive from that declaration.  ``validate`` checks the values and returns a new
config with the derived defaults; ``preflight`` then checks what lies outside the process (the
MLflow store, the storage, the cluster).  Any bad value raises ``ConfigError`` naming the flag and
the value before Ray starts; the CLI turns it into one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import socket
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args, get_type_hints

import yaml

from nas_service.core.budget import Budget
from nas_service.core.errors import ConfigError
from nas_service.core.growth import NO_GROWTH_POLICIES
from nas_service.ray_job import require_outside_working_dir_copy
from nas_service.value_rules import check_path, check_seed, parse_counts, read_utf8
from scoring.criteria import CRITERIA, get_criterion
from trainables.datasets import LOADERS, DatasetError, load_dataset, loader, loader_options
from trainables.datasets.mapped import validation_images
from trainables.metrics.emissions import known_countries
from trainables.module_types import MODULE_TYPES, module_type
from trainables.protocol import COMPILE_CHOICES, PRECISIONS, PRESETS, SCHEDULES, TrainingConfig
from trainables.spec import ArchSpec, min_image_size, parse_depths

if TYPE_CHECKING:
    from trainables.datasets.splits import DataSplits


def _module_defaults(field: str) -> str:
    """``basic 6, bottleneck 2, ...``: a module-type default, as the help text shows it."""
    return ", ".join(f"{name} {getattr(kind, field)}" for name, kind in MODULE_TYPES.items())


def setting(default: Any, help: str, *groups: str) -> Any:
    """One setting of ``SearchConfig``: its default, its ``--help`` text and its groups
    (``settings_in``: commands leave out whole groups).  The flag, the YAML key, the type check
    and the MLflow param all derive from this one declaration."""
    return field(default=default, metadata={"help": help, "groups": groups})


@dataclass
class SearchConfig:
    """Every setting of a search, one field per command-line flag (``--max-train-images`` is
    ``max_train_images``) and YAML key.  ``resolve`` checks a config and fills in the defaults
    that depend on the module type, the working directory and the time."""

    dataset: str = setting(
        "digits", f"data set: {', '.join(LOADERS)}, or the import path package.module:function "
        "of your own loader")
    data_dir: str | None = setting(
        None, "folder of the data set's files (cifar10/100, idx, imagefolder; mapped: the "
        "folder prepare-data wrote)")
    image_size: int | None = setting(
        None, "resize images to this side (synthetic, imagefolder: default 32; "
        "tinyimagenet: default 64)")
    max_train_images: int | None = setting(
        None, "train on a stratified subset of this many training images")
    val_fraction: float | None = setting(
        None, "share of the training split held out for validation (default: the data "
        "set's, 0.1 or 0.2); 0 trains stage-wise on all of it as the authors did "
        "(no validation accuracy then)")
    iterations: int = setting(
        5, "n, stage-wise iterations (2n+1 trained networks)", "space")
    m0: int | None = setting(
        None, f"modules per stage of the first architecture (default: {_module_defaults('m0')})", "space")
    stages: int | None = setting(
        None, f"number of stages S (default: {_module_defaults('stages')})", "space")
    initial_depths: str | None = setting(
        None, "first architecture as m1-m2-..-mS (overrides --m0/--stages)", "space")
    delta: int | None = setting(
        None, f"modules added to a stage when it grows (default: {_module_defaults('delta')})", "space")
    references: str | None = setting(
        None, "uniform networks to train after the search for comparison, as modules per "
        "stage, e.g. 7,9,18 (ResNet44/56/110)")
    module: str = setting(
        "basic", f"module type: {', '.join(MODULE_TYPES)}, or the import path "
        "package.module:ATTRIBUTE of your own ModuleType", "architecture")
    width: int | None = setting(
        None, "channels of the first stage, doubled at every stage (default: "
        f"{_module_defaults('base_width')})", "architecture")
    preset: str = setting(
        "quick", f"training protocol: {', '.join(PRESETS)}")
    epochs: int | None = setting(
        None, "training epochs per candidate (default: the preset's)")
    transfer_from: str | None = setting(
        None, "start every candidate from a deeper trained donor: a checkpoint folder "
        "(architecture.json + checkpoint.pt) or an MLflow run, runs:/<run id>")
    finetune_epochs: int | None = setting(
        None, "epochs of fine-tuning after --transfer-from, and of the fine-tuned copy "
        "of --transfer-to (default: --epochs)")
    transfer_to: str | None = setting(
        None, "after the search, train the found network on this data set too: from "
        "scratch, fine-tuned from the search's weights (fresh head), and the uniform "
        "network of closest MACs (stagewise-nas transfer-to does it later)", "search_only")
    transfer_data_dir: str | None = setting(
        None, "folder of the --transfer-to data set's files", "search_only")
    lr: float | None = setting(
        None, "initial learning rate (default: the preset's)")
    batch_size: int | None = setting(
        None, "training batch size (default: the preset's)")
    schedule: str = setting(
        "step", f"learning-rate schedule: {' or '.join(SCHEDULES)} (step: lr/10 at half and at three "
        "quarters of the epochs, each drop at least one epoch after the one before, the paper's; "
        "cosine: annealed every epoch)")
    criterion: str = setting(
        "plsvip", f"stage importance criterion: {', '.join(CRITERIA)}, or the import path "
        "module:function of your own (features, labels) -> per-feature scores", "scoring")
    scoring_samples: int | None = setting(
        None, "score the stage features of a stratified sample of this many training "
        "images (default: every training image, as the authors do)", "scoring")
    bootstrap: int = setting(
        20, "paired bootstrap replicates of the stage scores that give every decision its "
        "confidence P(T beats A) (0: none)", "stagewise_only")
    min_confidence: float = setting(
        0.0, "grow a stage only when P(T beats A) is at least this (default 0: the "
        "paper's rule, T's score higher)", "stagewise_only")
    score_seeds: int = setting(
        1, "k: train A and T of every iteration from k init seeds and grow a stage when its "
        "mean T-A score difference over the seeds is positive; the confidence then covers "
        "training randomness too (1: the paper)", "stagewise_only")
    on_no_growth: str = setting(
        "retrain", f"when no stage grows: {' or '.join(NO_GROWTH_POLICIES)} (retrain: the next "
        "iteration trains A and T again from a new initialisation, as the authors' "
        "code does; stop: the search ends as converged)", "stagewise_only")
    max_macs: float | None = setting(
        None, "grow only while the network stays within this many MACs per image", "stagewise_only")
    max_params: float | None = setting(
        None, "grow only while the network stays within this many parameters", "stagewise_only")
    max_latency_ms: float | None = setting(
        None, "grow only while the network's CPU latency (batch 1, 1 thread, measured "
        "on this machine) stays within this many milliseconds", "stagewise_only")
    final_epochs: int | None = setting(
        None, "after the search, every candidate (each iteration's A, the found network, "
        "the references) trains this many more epochs from its checkpoint at the "
        "schedule's last learning rate, logged in its own run (the paper: 100)", "stagewise_only")
    scoring_actors: int = setting(
        2, "number of Ray scoring actors", "scoring")
    seed: int = setting(
        0, "seed of splits, initialisation, augmentation and scoring sample")
    gpus_per_trial: float | None = setting(
        None, "GPUs per trial (default: 0.5 when the cluster has GPUs, else 0)")
    cpus_per_trial: float = setting(
        1.0, "CPUs (and torch threads) per trial; a CPU trial that trains alone (the found "
        "network, T after a reused A) on images of 16 pixels or more also holds its missing twin's")
    workers_per_trial: int = setting(
        1, "train each network data-parallel on this many Ray Train workers (DDP: gloo on "
        "CPUs, NCCL on GPUs), each holding --cpus-per-trial CPUs and --gpus-per-trial GPUs "
        "(default 1 when the cluster has GPUs); --batch-size stays the global batch, split "
        "evenly over the workers, at the same learning rate")
    country: str = setting(
        "USA", "ISO 3166-1 alpha-3 code of the electricity mix for kgCO2eq (codecarbon, offline)")
    precision: str = setting(
        "auto", "auto (bf16 on GPUs that support it, else fp32), bf16 or fp32")
    compile: str = setting(
        "auto", "torch.compile the training step: auto (on a GPU when the time it saves exceeds "
        "the time it costs), on or off")
    budget_images: float | None = setting(
        None, "stop the search when this many training images (epochs x images) are spent", "budget")
    budget_gpu_hours: float | None = setting(
        None, "stop the search when this many GPU-hours are spent", "budget")
    budget_kgco2: float | None = setting(
        None, "stop the search when training has emitted this many kgCO2eq", "budget")
    tracking_uri: str | None = setting(
        None, "MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else "
        "sqlite:///<cwd>/mlflow.db)")
    experiment: str = setting(
        "stagewise-nas", "MLflow experiment name")
    storage_path: str | None = setting(
        None, "Tune storage: a folder, a shared mount or a URI such as s3://bucket/path "
        "(default: $NAS_STORAGE_PATH, else <cwd>/nas_results)")
    name: str | None = setting(
        None, "name of this search (Tune experiment folder, MLflow parent run)")
    resume: bool = setting(
        False, "continue the search --name after a crash or Ctrl-C, with its saved settings "
        "(same --storage-path, --tracking-uri and --experiment)")
    progress_every: float = setting(
        30.0, "seconds between two status lines of a running network (epoch, accuracy, the "
        "search's remaining time); 0: one every epoch", "console")
    dashboard: bool = setting(
        False, "start Ray's dashboard with the local Ray and print its URL (a cluster joined "
        "through RAY_ADDRESS has its own, printed when it has one)", "console")

    @property
    def start_depths(self) -> tuple[int, ...]:
        if self.initial_depths:
            return parse_depths(self.initial_depths)
        return (self.m0,) * self.stages

    @property
    def widths(self) -> tuple[int, ...] | None:
        """Channels of each stage from ``--width`` (``None``: the module type's default)."""
        if self.width is None:
            return None
        return tuple(self.width * 2 ** i for i in range(len(self.start_depths)))

    @property
    def reference_depths(self) -> list[tuple[int, ...]]:
        """``--references 7,9`` -> uniform networks (7, 7, 7) and (9, 9, 9) for S = 3 stages."""
        if not self.references:
            return []
        return [(blocks,) * len(self.start_depths)
                for blocks in parse_counts("--references", self.references)]

    @property
    def limits(self) -> dict[str, float]:
        """The resource limits given, by cost name (``macs``, ``params``, ``latency_ms``)."""
        given = {"macs": self.max_macs, "params": self.max_params,
                 "latency_ms": self.max_latency_ms}
        return {name: float(value) for name, value in given.items() if value is not None}

    def network_spec(self, depths: Sequence[int], data: DataSplits) -> ArchSpec:
        """The network of ``depths`` that these settings build for ``data``."""
        return ArchSpec(depths=tuple(depths), module=self.module, widths=self.widths,
                        in_channels=data.in_channels, image_size=data.image_size,
                        num_classes=data.num_classes)

    @property
    def starts_dashboard(self) -> bool:
        """Whether a local Ray starts its dashboard: ``--dashboard``, or data-parallel trials,
        whose Ray Train runs ask Ray's state API (which the dashboard serves) whether their
        controller is alive, and warn every second without it."""
        return self.dashboard or self.workers_per_trial > 1

    def budget(self) -> Budget:
        return Budget(self.budget_images, self.budget_gpu_hours, self.budget_kgco2)

    def training(self) -> TrainingConfig:
        """The preset with ``--epochs`` (``--finetune-epochs`` when transferring), ``--lr``,
        ``--batch-size`` and ``--schedule`` applied on top."""
        epochs = self.finetune_epochs if self.transfer_from and self.finetune_epochs else self.epochs
        overrides = {key: value for key, value in
                     (("epochs", epochs), ("lr", self.lr), ("batch_size", self.batch_size),
                      ("schedule", self.schedule))
                     if value is not None}
        return TrainingConfig(**{**PRESETS[self.preset].to_dict(), **overrides})

    def load_data(self) -> DataSplits:
        """The data set these settings name; bad files raise ``DatasetError`` here, which is why
        the CLIs call it before starting Ray."""
        data = self.load_splits()
        self.check_fits(data)
        return data

    def load_splits(self) -> DataSplits:
        """The data set's splits as these settings make them (``--val-fraction``,
        ``--max-train-images``), whatever network will train on them."""
        data = load_dataset(self.dataset, data_dir=self.data_dir, seed=self.seed,
                            **({"image_size": self.image_size} if self.image_size else {}))
        if self.val_fraction is not None and self.dataset == "mapped":
            raise ConfigError(f"--val-fraction {self.val_fraction}: a mapped data set keeps the "
                              f"validation split it was written with ({len(data.y_val)} images); "
                              "write another with stagewise-nas prepare-data --val-fraction "
                              f"{self.val_fraction}")
        if self.val_fraction is not None:
            data = data.with_val_fraction(self.val_fraction, self.seed)
        if self.max_train_images:
            if self.max_train_images < data.num_classes:
                raise ConfigError(f"--max-train-images {self.max_train_images}: {data.name} has "
                                  f"{data.num_classes} classes and the subset keeps at least one "
                                  f"image of each: give {data.num_classes} or more")
            data = data.with_train_subset(self.max_train_images, self.seed)
        return data

    def check_fits(self, data: DataSplits) -> None:
        """The networks of these settings can be built for ``data``: a ``ConfigError`` now, not
        a trial that fails after Ray has started."""
        stages, side = len(self.start_depths), data.image_size
        if side < min_image_size(stages):
            resize = (" or a larger --image-size" if "image_size" in loader_options(self.dataset)
                      else "")
            raise ConfigError(f"--stages {stages}: {data.name} images are {side}x{side}, and "
                              f"{stages} stages need at least {min_image_size(stages)}x"
                              f"{min_image_size(stages)} (every stage after the first halves "
                              f"them; --module {self.module} has {module_type(self.module).stages}"
                              f" by default): give fewer --stages{resize}")
        try:
            self.network_spec(self.start_depths, data)
        except ValueError as error:
            raise ConfigError(f"{data.name}: {error}") from None

    def transfer_target(self, found_run_id: str = "") -> SearchConfig:
        """The settings of ``--transfer-to``: this protocol on the other data set (at its own
        image size), with the found network's run as the donor of the fine-tuned copy."""
        return replace(self, dataset=self.transfer_to, data_dir=self.transfer_data_dir,
                       image_size=None, val_fraction=None, transfer_to=None, transfer_data_dir=None,
                       transfer_from=f"runs:/{found_run_id}", name=f"{self.name}-to-{self.transfer_to}",
                       resume=False)

    def load_transfer_data(self) -> DataSplits:
        """The ``--transfer-to`` data, loaded before the search so that a bad folder fails first."""
        try:
            return self.transfer_target().load_data()
        except DatasetError as error:
            message = str(error).replace("--data-dir", "--transfer-data-dir")
            raise ConfigError(f"--transfer-to {self.transfer_to}: {message}") from None

    def to_params(self) -> dict[str, Any]:
        """The resolved settings as flat strings-and-numbers (MLflow params)."""
        params = {key: value for key, value in asdict(self).items()
                  if value is not None and key != "resume" and key not in CONSOLE}
        params["start_depths"] = "-".join(map(str, self.start_depths))
        params.update({f"train.{k}": v for k, v in self.training().to_dict().items()})
        return params


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports errors in one line (no usage block), exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def settings_in(group: str) -> tuple[str, ...]:
    """The settings declared in ``group``, in declaration order."""
    return tuple(f.name for f in fields(SearchConfig) if group in f.metadata["groups"])


# settings that only the stage-wise search (``run``) acts on: other commands do not offer them,
# so that a user who passes one learns it does nothing there
SEARCH_ONLY = settings_in("search_only")
# settings of the stage-wise decisions: ``run`` and ``compare`` (whose stage-wise search uses
# them) offer them, the commands that train without deciding do not
STAGEWISE_ONLY = settings_in("stagewise_only")
# how stage features are scored: only searches that score stages (stage-wise) use them
SCORING = settings_in("scoring")
# the depth space: what networks a search may build (one given network does not need it)
SPACE = settings_in("space")
# what bounds a search of many networks
BUDGET = settings_in("budget")
# the network's module type and widths (a network read from a run brings its own)
ARCHITECTURE = settings_in("architecture")
# how a search shows its progress, not what it computes: every search command offers them, and
# they are not MLflow params of its runs
CONSOLE = settings_in("console")


@cache
def setting_kind(name: str) -> tuple[type, bool]:
    """(bool, int, float or str; whether ``None`` is allowed) of a setting, from its annotation
    (read once per setting: every parsed flag asks)."""
    annotation = get_type_hints(SearchConfig)[name]
    kinds = [kind for kind in get_args(annotation) or (annotation,) if kind is not type(None)]
    return kinds[0], type(None) in get_args(annotation)


OMITTED_KEY = "_omitted_settings"
# what ``--resume`` reads from the command line: everything else comes from the saved search
# where a search lives and what it is called: all that a command working on a saved search
# (--resume, audit --from-search) takes from its flags; the rest comes from the saved settings
SEARCH_LOCATION = ("name", "tracking_uri", "storage_path", "experiment")
RESUME_READS = ("resume", *SEARCH_LOCATION)


def build_parser(prog: str = "python -m nas_service.run",
                 description: str = "Stage-wise neural architecture search on Ray Tune.",
                 omit: Sequence[str] = ()) -> argparse.ArgumentParser:
    """Every ``SearchConfig`` setting but ``omit`` as a flag; flags not given are absent from the
    namespace."""
    # no abbreviations: "--epoch 3" is a typo to report, and a new flag must not change old ones
    parser = OneLineParser(prog=prog, description=description, argument_default=argparse.SUPPRESS,
                           allow_abbrev=False)
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
    options: dict[str, Any] = ({"action": "store_true"} if kind is bool else
                               {"type": kind, "metavar": kind.__name__.upper()})
    parser.add_argument("--" + name.replace("_", "-"), dest=name,
                        help=declared.metadata["help"], **{**options, **overrides})


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice (plain YAML keeps the last silently)."""

    def construct_mapping(self, node, deep=False):
        keys = [self.construct_object(key, deep=deep) for key, _ in node.value]
        repeated = next((key for index, key in enumerate(keys) if key in keys[:index]), None)
        if repeated is not None:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {repeated!r} is given twice", node.start_mark)
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
            raise ConfigError(f"--config {path}: unknown key {key!r}; valid keys: "
                              f"{', '.join(sorted(k.replace('_', '-') for k in known))}")
        settings[name] = value
    return settings


def _check_type(name: str, value: Any) -> Any:
    """``value`` as the type setting ``name`` declares, or a ``ConfigError`` naming both."""
    converter, optional = setting_kind(name)
    if value is None and optional:
        return None
    if converter is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"--{name.replace('_', '-')} {value!r}: must be true or false")
        return value
    flag, kind = f"--{name.replace('_', '-')} {value!r}", converter.__name__
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


def _require(condition: bool, flag: str, value: Any, what: str) -> None:
    if not condition:
        raise ConfigError(f"--{flag} {value!r}: {what}")


DEFAULT_NAME = "stagewise-{dataset}-{time}"
MAX_IMAGE_SIZE = 512
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
            check_path(f"--{flag.replace('_', '-')}", getattr(config, flag))
    if config.storage_path and "://" not in config.storage_path:
        check_path("--storage-path", config.storage_path)
    if config.tracking_uri and config.tracking_uri.startswith("sqlite:///"):
        check_path("--tracking-uri", sqlite_path(config.tracking_uri))
    _require(bool(config.experiment.strip()), "experiment", config.experiment,
             "must name an MLflow experiment (e.g. stagewise-nas)")
    _check_dataset("dataset", config.dataset)
    try:
        kind = module_type(config.module)
    except ValueError as error:  # "module 'x': <what is wrong>"
        raise ConfigError(f"--{error}") from None
    if config.stages is None and config.initial_depths:
        config.stages = len(str(config.initial_depths).split("-"))
    for flag in ("m0", "stages", "delta"):  # the module type's defaults
        if getattr(config, flag) is None:
            setattr(config, flag, getattr(kind, flag))
    _require(config.width is None or config.width >= 1, "width", config.width,
             "must be at least 1")
    _require(config.preset in PRESETS, "preset", config.preset, f"must be one of {', '.join(PRESETS)}")
    _require(config.schedule in SCHEDULES, "schedule", config.schedule,
             f"must be one of {', '.join(SCHEDULES)}")
    check_criterion(config.criterion)
    _require(config.on_no_growth in NO_GROWTH_POLICIES, "on-no-growth", config.on_no_growth,
             f"must be one of {', '.join(NO_GROWTH_POLICIES)}")
    _require(config.bootstrap >= 0, "bootstrap", config.bootstrap, "must be 0 or more")
    _require(0 <= config.min_confidence <= 1, "min-confidence", config.min_confidence,
             "must be between 0 and 1")
    _require(config.min_confidence == 0 or config.bootstrap >= 10, "min-confidence",
             config.min_confidence, f"needs --bootstrap of at least 10 (got {config.bootstrap})")
    for flag in ("max_macs", "max_params", "max_latency_ms"):
        value = getattr(config, flag)
        _require(value is None or value > 0, flag.replace("_", "-"), value, "must be positive")
    for flag in ("iterations", "m0", "stages", "delta", "scoring_actors", "score_seeds"):
        _require(getattr(config, flag) >= 1, flag.replace("_", "-"), getattr(config, flag),
                 "must be at least 1")
    _require(config.finetune_epochs is None or config.transfer_from or config.transfer_to,
             "finetune-epochs", config.finetune_epochs, "needs --transfer-from or --transfer-to")
    if config.transfer_to is not None:
        _check_dataset("transfer-to", config.transfer_to)
    _require(config.transfer_data_dir is None or config.transfer_to, "transfer-data-dir",
             config.transfer_data_dir, "needs --transfer-to")
    for flag in ("epochs", "batch_size", "max_train_images", "finetune_epochs", "final_epochs"):
        value = getattr(config, flag)
        _require(value is None or value >= 1, flag.replace("_", "-"), value, "must be at least 1")
    _require(config.lr is None or config.lr > 0, "lr", config.lr, "must be positive")
    _require(config.val_fraction is None or 0 <= config.val_fraction < 1, "val-fraction",
             config.val_fraction, "must be at least 0 and below 1")
    for flag in ("budget_images", "budget_gpu_hours", "budget_kgco2"):
        value = getattr(config, flag)
        _require(value is None or value > 0, flag.replace("_", "-"), value, "must be positive")
    _require(config.scoring_samples is None or config.scoring_samples >= 10, "scoring-samples",
             config.scoring_samples, "must be at least 10")
    _require(config.image_size is None or 8 <= config.image_size <= MAX_IMAGE_SIZE, "image-size",
             config.image_size, f"must be between 8 and {MAX_IMAGE_SIZE} (images are held in "
             "memory as uint8: 50,000 of 512x512 RGB take 39 GB)")
    _require(config.cpus_per_trial > 0, "cpus-per-trial", config.cpus_per_trial, "must be positive")
    _require(config.progress_every >= 0, "progress-every", config.progress_every,
             "must be 0 (a status line every epoch) or more seconds")
    _require(config.gpus_per_trial is None or config.gpus_per_trial >= 0, "gpus-per-trial",
             config.gpus_per_trial, "must be 0 or more")
    _check_workers(config)
    _require(config.precision in PRECISIONS, "precision", config.precision,
             f"must be one of {', '.join(PRECISIONS)}")
    _require(config.compile in COMPILE_CHOICES, "compile", config.compile,
             f"must be one of {', '.join(COMPILE_CHOICES)}")
    _require(config.country.upper() in known_countries(), "country", config.country,
             "must be an ISO 3166-1 alpha-3 code that codecarbon knows, e.g. USA, FRA, DEU")
    config.country = config.country.upper()
    if config.references is not None:
        parse_counts("--references", config.references)
    check_seed("--seed", config.seed)
    _require(not config.resume or bool(config.name), "resume", config.resume,
             "needs --name, the name of the search to continue")
    if config.initial_depths is not None:
        try:
            parse_depths(config.initial_depths)
        except ValueError as error:
            raise ConfigError(f"--initial-depths: {error}") from None
    # on clusters both usually come from the environment (deploy/): MLflow's own variable and ours
    config.tracking_uri = default_tracking_uri(config.tracking_uri)
    config.storage_path = _storage_location(config.storage_path
                                            or os.environ.get("NAS_STORAGE_PATH")
                                            or str(Path.cwd() / "nas_results"))
    if config.name is None:
        config.name = default_name.format(dataset=config.dataset,
                                          time=time.strftime("%Y%m%d-%H%M%S"))
    _require(SEARCH_NAME.fullmatch(config.name) is not None, "name", config.name,
             "must be 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit "
             "(it names a folder under --storage-path and the MLflow parent run)")
    return config


def _check_workers(config: SearchConfig) -> None:
    """Data-parallel workers split every global batch evenly, and each holds whole GPUs: NCCL
    cannot join two ranks on one device."""
    workers = config.workers_per_trial
    _require(workers >= 1, "workers-per-trial", workers, "must be at least 1")
    if workers == 1:
        return
    batch_size = config.training().batch_size
    _require(batch_size % workers == 0, "workers-per-trial", workers,
             f"must divide the batch size {batch_size} (the global batch, split evenly over the "
             "workers): choose --batch-size accordingly")
    gpus = config.gpus_per_trial
    _require(gpus is None or gpus == 0 or (gpus >= 1 and gpus == int(gpus)), "gpus-per-trial",
             gpus, f"must be 0 or a whole number of GPUs with --workers-per-trial {workers} "
             "(each worker holds its own devices)")


def preflight(config: SearchConfig) -> None:
    """What a validated config needs outside this process, checked before Ray starts: the
    donor folder, the cluster in ``RAY_ADDRESS``, the MLflow store, the storage, and that the
    search's folder is new (or, for ``resume``, there).  A ``ConfigError`` naming the setting."""
    if config.transfer_from and not config.transfer_from.startswith("runs:/"):
        _require(Path(config.transfer_from).exists(), "transfer-from", config.transfer_from,
                 "does not exist: give a checkpoint folder or runs:/<run id>")
    _check_ray_address(os.environ.get("RAY_ADDRESS"))
    _check_local_cpus(config)
    _check_tracking_uri(config.tracking_uri)
    _check_storage(config.storage_path)
    _check_outside_job_files(config)
    folder = Path(config.storage_path) / config.name
    _require(config.resume or "://" in config.storage_path or not folder.exists(), "name",
             config.name, f"a search of that name is already in {folder}: continue it with "
             "--resume, or choose another --name")
    if config.resume and "://" not in config.storage_path and not folder.is_dir():
        raise ConfigError(f"--resume --name {config.name}: no search of that name in "
                          f"{config.storage_path}; nothing to resume")
    if config.resume or str(config.transfer_from).startswith("runs:/"):
        require_existing_store(config.tracking_uri)


def _check_local_cpus(config: SearchConfig) -> None:
    """A Ray that this process will start holds this machine's CPUs: a trial that asks for more
    can never run, which is said before Ray's start is paid (a cluster's nodes are asked once
    joined: ``nas_service.tune.cluster.trial_resources``)."""
    ray = sys.modules.get("ray")
    if os.environ.get("RAY_ADDRESS") or (ray is not None and ray.is_initialized()):
        return
    cpus = os.cpu_count() or 1
    _require(config.cpus_per_trial <= cpus, "cpus-per-trial", config.cpus_per_trial,
             f"no node of the cluster has that many CPUs (the local cluster is this machine, "
             f"with {cpus})")
    workers = config.workers_per_trial
    _require(workers * config.cpus_per_trial <= cpus, "workers-per-trial", workers,
             f"the cluster holds at most {int(cpus // config.cpus_per_trial)} workers of "
             f"{config.cpus_per_trial:g} CPUs (the local cluster is this machine, with {cpus}; "
             "--cpus-per-trial)")


def _check_outside_job_files(config: SearchConfig) -> None:
    """Neither the results folder nor a local MLflow store in Ray's copy of a job's
    ``--working-dir`` (``nas_service.ray_job``): both default to the working directory."""
    if "://" not in config.storage_path:
        require_outside_working_dir_copy(
            "--storage-path", config.storage_path, Path(config.storage_path),
            "give a folder that outlives the job (a mount every node shares, or s3://...), or "
            "set NAS_STORAGE_PATH")
    uri = config.tracking_uri
    parsed = urllib.parse.urlparse(uri)
    if parsed.scheme == "sqlite":
        local_store = sqlite_path(uri)
    elif parsed.scheme in ("", "file"):
        local_store = Path(parsed.path)
    else:
        return
    require_outside_working_dir_copy(
        "--tracking-uri", uri, local_store,
        "give an MLflow server (http://...) or a sqlite file that outlives the job, or set "
        "MLFLOW_TRACKING_URI")


BASELINE_METHODS = ("random", "asha", "tpe")


def check_baseline(config: SearchConfig, method: str, samples: int | None) -> None:
    """A baseline needs a known method and something that bounds it (a sample count or budget)."""
    if method not in BASELINE_METHODS:
        raise ConfigError(f"--method {method!r}: must be one of {', '.join(BASELINE_METHODS)}")
    if samples is not None and samples < 1:
        raise ConfigError(f"--samples {samples}: must be at least 1")
    if samples is not None and config.resume:
        raise ConfigError(f"--samples {samples}: --resume continues with the saved search's "
                          "number of networks, so this would be ignored")
    if samples is None and config.budget_images is None and not config.resume:
        raise ConfigError("--samples or --budget-images is required for a baseline")


def _check_dataset(flag: str, name: str) -> None:
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
    _require(":" in name, flag, name,
             f"must be one of {', '.join(CRITERIA)} or an import path module:function")
    try:
        get_criterion(name)
    except ValueError as error:
        raise ConfigError(f"--{flag}: {error}") from None


def default_tracking_uri(uri: str | None) -> str:
    """``uri``, else ``$MLFLOW_TRACKING_URI``, else ``mlflow.db`` in the working directory."""
    return uri or os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path.cwd() / 'mlflow.db'}"


SQLITE_HEADER = b"SQLite format 3\x00"
# where MLflow can record runs ("" is a plain folder path, a file store)
TRACKING_SCHEMES = ("", "file", "sqlite", "http", "https", "postgresql", "mysql", "mssql",
                    "databricks")


def _check_tracking_uri(uri: str) -> None:
    """An MLflow server must answer now, a sqlite file's folder must exist and the file, if any,
    be an SQLite database, and the scheme must be one MLflow records runs at: a search must not
    train for hours and then fail to record its first candidate."""
    scheme = urllib.parse.urlparse(uri).scheme
    if scheme in ("http", "https"):
        try:
            urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=5).close()
        except (OSError, ValueError) as error:
            reason = getattr(error, "reason", error)
            raise ConfigError(f"--tracking-uri {uri!r}: cannot reach the MLflow server "
                              f"({reason})") from None
    elif scheme == "sqlite":
        path = sqlite_path(uri)
        folder = path.parent
        if not folder.is_dir() or not os.access(folder, os.W_OK):
            raise ConfigError(f"--tracking-uri {uri!r}: folder {folder} does not exist or is "
                              "not writable")
        if path.is_dir():
            raise ConfigError(f"--tracking-uri {uri!r}: {path} is a folder, not a database file")
        if path.is_file() and path.stat().st_size:
            with open(path, "rb") as handle:
                if handle.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
                    raise ConfigError(f"--tracking-uri {uri!r}: {path} is not an SQLite "
                                      "database")
    elif scheme.split("+")[0] not in TRACKING_SCHEMES and not (len(scheme) == 1 and os.name == "nt"):
        raise ConfigError(f"--tracking-uri {uri!r}: MLflow stores runs at sqlite:///<file>, "
                          "http(s)://<server>, file:<folder> or a database URI (postgresql://, "
                          "mysql://, mssql://)")


def sqlite_path(uri: str) -> Path:
    """The database file of a ``sqlite:///<file>`` tracking URI."""
    return Path(uri.removeprefix("sqlite:///"))


def store_exists(uri: str) -> bool:
    """Whether the MLflow store at ``uri`` exists already (a sqlite file is created on first use;
    other stores are assumed to exist)."""
    if urllib.parse.urlparse(uri).scheme != "sqlite":
        return True
    return sqlite_path(uri).is_file()


def require_existing_store(uri: str) -> None:
    """A command that reads a search needs the MLflow store it was recorded in: a missing sqlite
    file is named now (opening it would create an empty store and take seconds), a server must
    answer."""
    _check_tracking_uri(uri)
    if not store_exists(uri):
        raise ConfigError(f"--tracking-uri {uri!r}: no MLflow store there "
                          f"({uri.removeprefix('sqlite:///')} does not exist): give the "
                          "--tracking-uri the search recorded into")


RAY_ADDRESS_TIMEOUT_S = 5.0


def _check_ray_address(address: str | None) -> None:
    """The cluster that ``RAY_ADDRESS`` names must answer now: ``ray.init`` would retry for
    minutes, printing warnings.  (``ray job submit`` gives its drivers a GCS ``host:port``.)"""
    if not address or address in ("auto", "local"):
        return
    scheme, _, target = address.rpartition("://")
    if scheme in ("http", "https"):
        raise ConfigError(f"RAY_ADDRESS {address!r}: that is a dashboard address, for `ray job "
                          "submit`; to run here, give the head node's host:port (port 6379 by "
                          "default), or submit this command with `ray job submit`")
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"RAY_ADDRESS {address!r}: must be host:port (the head node, port 6379 "
                          "by default), ray://host:port or auto")
    try:
        socket.create_connection((host.strip("[]"), int(port)), RAY_ADDRESS_TIMEOUT_S).close()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ConfigError(f"RAY_ADDRESS {address!r}: no cluster answers there ({reason}): "
                          "start one with `ray start --head`, or unset RAY_ADDRESS to start a "
                          "local one") from None


def _check_remote_storage(uri: str) -> None:
    """A storage URI that pyarrow (Tune's file system layer) can open, whose location answers:
    a scheme without a file system or a bucket that cannot be listed is one line now, not a
    traceback after Ray started with the parent run left RUNNING."""
    import pyarrow.fs  # Ray's own dependency; imported only for URIs

    try:
        filesystem, location = pyarrow.fs.FileSystem.from_uri(uri)
        filesystem.get_file_info(location.split("/")[0] or location)
    except Exception as error:  # pyarrow raises ArrowInvalid, OSError, ... with one-line causes
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ConfigError(f"--storage-path {uri!r}: cannot use it ({reason})") from None


def _storage_location(path: str) -> str:
    """A local storage path made absolute (``~`` expanded); URIs (s3://, gs://) as given."""
    return path if "://" in path else str(Path(path).expanduser().resolve())


def _check_storage(path: str) -> None:
    """Local storage must be a folder we can write (or create); URIs (s3://, gs://) must open
    through pyarrow (``_check_remote_storage``)."""
    if "://" in path:
        _check_remote_storage(path)
        return
    folder = Path(path)
    existing = folder  # created when the first trial starts: a refused run leaves no folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"--storage-path {path!r}: {existing} is a file, not a folder")
    try:
        tempfile.TemporaryFile(dir=existing).close()
    except OSError as error:
        raise ConfigError(f"--storage-path {path!r}: not writable ({error.strerror})") from None


def parse_config(argv: Sequence[str] | None = None, prog: str = "python -m nas_service.run"
                 ) -> SearchConfig:
    """Defaults, then ``--config`` YAML, then flags; validated.  Raises ``ConfigError``."""
    arguments = vars(build_parser(prog).parse_args(sys.argv[1:] if argv is None else argv))
    return parse_arguments(arguments)


def parse_arguments(arguments: dict[str, Any], default_name: str = DEFAULT_NAME,
                    needs_validation: bool = False) -> SearchConfig:
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
            raise ConfigError(f"--config {path}: {refused[0].replace('_', '-')} does not apply to "
                              "this command (it is not one of its flags either)")
    settings.update(arguments)
    return _resolved(settings, default_name, needs_validation)


# the settings that choose a data set and make its splits: what ``prepare-data`` writes
DATA_SETTINGS = ("dataset", "data_dir", "image_size", "val_fraction", "max_train_images", "seed")


def parse_data_arguments(arguments: dict[str, Any]) -> SearchConfig:
    """Parsed data set flags (``DATA_SETTINGS``) -> a ``SearchConfig`` checked as a search checks
    them; nothing outside this process is asked (Ray, MLflow and the storage are not used)."""
    return validate(SearchConfig(**{name: _check_type(name, value)
                                    for name, value in arguments.items()}))


def resolve(config: SearchConfig, default_name: str = DEFAULT_NAME,
            needs_validation: bool = False) -> SearchConfig:
    """A ``SearchConfig`` built in Python, checked exactly as the command line checks its flags
    (the settings that differ from the defaults count as given).  Returns a new, validated
    config with the defaults that depend on the working directory and the time filled in;
    ``config`` itself is left as it was.  Raises ``ConfigError`` naming the bad setting."""
    defaults = SearchConfig()
    given = {f.name: getattr(config, f.name) for f in fields(SearchConfig)
             if getattr(config, f.name) != getattr(defaults, f.name)}
    return _resolved(given, default_name, needs_validation)


def _resolved(settings: dict[str, Any], default_name: str, needs_validation: bool) -> SearchConfig:
    """The settings given (flags, a YAML file or a Python config), typed and validated."""
    typed = {name: _check_type(name, value) for name, value in settings.items()}
    if typed.get("initial_depths") and "stages" in typed:
        _require(len(str(typed["initial_depths"]).split("-")) == typed["stages"], "initial-depths",
                 typed["initial_depths"], f"has {len(str(typed['initial_depths']).split('-'))} "
                 f"stages but --stages is {typed['stages']}")
    ignored = sorted(set(typed) - set(RESUME_READS)) if typed.get("resume") else []
    if ignored:
        raise ConfigError(f"--{ignored[0].replace('_', '-')} {typed[ignored[0]]!r}: --resume "
                          "continues with the search's saved settings, so this would be ignored: "
                          "give only --name and where the search lives (--storage-path, "
                          "--tracking-uri, --experiment)")
    _require(not needs_validation or typed.get("val_fraction") != 0, "val-fraction", 0.0,
             "this command chooses and reports networks by validation accuracy; only the "
             "stage-wise search (python -m nas_service.run) trains without a validation split")
    config = validate(SearchConfig(**typed), default_name)
    if needs_validation and config.dataset == "mapped" and config.data_dir:
        _require(validation_images(config.data_dir) != 0, "data-dir", config.data_dir,
                 "this prepared data set has no validation split (it was written with "
                 "--val-fraction 0), and this command chooses and reports networks by validation "
                 "accuracy: prepare one with a validation split")
    preflight(config)
    return config

