"""The search's settings, declared once: each is a field of ``SearchConfig`` (``setting``: default,
help text, groups and the rules its value obeys).  Its flag and YAML key (``nas_service.cli.arguments``),
its type and range checks (``nas_service.validation``) and its MLflow param all derive from that
declaration."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from functools import cache
from typing import TYPE_CHECKING, Any, get_args, get_type_hints

from nas_service.core.budget import Budget
from nas_service.core.growth import NO_GROWTH_POLICIES
from nas_service.search_data import DataOfSettings
from nas_service.value_rules import (
    NOT_NEGATIVE,
    POSITIVE,
    Rule,
    at_least,
    between,
    needs,
    one_of,
    parse_counts,
)
from scoring.criteria import CRITERIA
from trainables.datasets import LOADERS
from trainables.module_types import MODULE_TYPES
from trainables.protocol import COMPILE_CHOICES, PRECISIONS, PRESETS, SCHEDULES, TrainingConfig
from trainables.spec import ArchSpec, parse_depths

if TYPE_CHECKING:
    from trainables.datasets.splits import DataSplits


def _module_defaults(field: str) -> str:
    """``basic 6, bottleneck 2, ...``: a module-type default, as the help text shows it."""
    return ", ".join(f"{name} {getattr(kind, field)}" for name, kind in MODULE_TYPES.items())


def setting(default: Any, help: str, *groups: str, rules: Sequence[Rule] = ()) -> Any:
    """One setting of ``SearchConfig``: its default, its ``--help`` text, its groups
    (``settings_in``: commands leave out whole groups) and the rules its value obeys (ranges,
    choices, other settings it needs).  The flag, the YAML key, the checks and their messages
    and the MLflow param all derive from this one declaration."""
    return field(default=default, metadata={"help": help, "groups": groups, "rules": tuple(rules)})


MAX_IMAGE_SIZE = 512


@dataclass
class SearchConfig(DataOfSettings):
    """Every setting of a search, one field per command-line flag (``--max-train-images`` is
    ``max_train_images``) and YAML key.  ``resolve`` checks a config and fills in the defaults
    that depend on the module type, the working directory and the time."""

    dataset: str = setting(
        "digits",
        f"data set: {', '.join(LOADERS)}, or the import path package.module:function of your own loader",
    )
    data_dir: str | None = setting(
        None,
        "folder of the data set's files (cifar10/100, idx, imagefolder; mapped: the "
        "folder prepare-data wrote)",
    )
    image_size: int | None = setting(
        None,
        "resize images to this side (synthetic, imagefolder: default 32; tinyimagenet: default 64)",
        rules=[
            between(
                8,
                MAX_IMAGE_SIZE,
                f"must be between 8 and {MAX_IMAGE_SIZE} (images are held "
                "in memory as uint8: 50,000 of 512x512 RGB take 39 GB)",
            )
        ],
    )
    max_train_images: int | None = setting(
        None, "train on a stratified subset of this many training images", rules=[at_least(1)]
    )
    val_fraction: float | None = setting(
        None,
        "share of the training split held out for validation (default: the data "
        "set's, 0.1 or 0.2); 0 trains stage-wise on all of it as the authors did "
        "(no validation accuracy then)",
        rules=[Rule(lambda value: 0 <= value < 1, "must be at least 0 and below 1")],
    )
    iterations: int = setting(
        5, "n, stage-wise iterations (2n+1 trained networks)", "space", rules=[at_least(1)]
    )
    m0: int | None = setting(
        None,
        f"modules per stage of the first architecture (default: {_module_defaults('m0')})",
        "space",
        rules=[at_least(1)],
    )
    stages: int | None = setting(
        None, f"number of stages S (default: {_module_defaults('stages')})", "space", rules=[at_least(1)]
    )
    initial_depths: str | None = setting(
        None, "first architecture as m1-m2-..-mS (overrides --m0/--stages)", "space"
    )
    delta: int | None = setting(
        None,
        f"modules added to a stage when it grows (default: {_module_defaults('delta')})",
        "space",
        rules=[at_least(1)],
    )
    references: str | None = setting(
        None,
        "uniform networks to train after the search for comparison, as modules per "
        "stage, e.g. 7,9,18 (ResNet44/56/110)",
    )
    module: str = setting(
        "basic",
        f"module type: {', '.join(MODULE_TYPES)}, or the import path "
        "package.module:ATTRIBUTE of your own ModuleType",
        "architecture",
    )
    width: int | None = setting(
        None,
        f"channels of the first stage, doubled at every stage (default: {_module_defaults('base_width')})",
        "architecture",
        rules=[at_least(1)],
    )
    preset: str = setting("quick", f"training protocol: {', '.join(PRESETS)}", rules=[one_of(tuple(PRESETS))])
    epochs: int | None = setting(
        None, "training epochs per candidate (default: the preset's)", rules=[at_least(1)]
    )
    transfer_from: str | None = setting(
        None,
        "start every candidate from a deeper trained donor: a checkpoint folder "
        "(architecture.json + checkpoint.pt) or an MLflow run, runs:/<run id>",
    )
    finetune_epochs: int | None = setting(
        None,
        "epochs of fine-tuning after --transfer-from, and of the fine-tuned copy "
        "of --transfer-to (default: --epochs)",
        rules=[needs("transfer_from", "transfer_to"), at_least(1)],
    )
    transfer_to: str | None = setting(
        None,
        "after the search, train the found network on this data set too: from "
        "scratch, fine-tuned from the search's weights (fresh head), and the uniform "
        "network of closest MACs (stagewise-nas transfer-to does it later)",
        "search_only",
    )
    transfer_data_dir: str | None = setting(
        None, "folder of the --transfer-to data set's files", "search_only", rules=[needs("transfer_to")]
    )
    lr: float | None = setting(None, "initial learning rate (default: the preset's)", rules=[POSITIVE])
    batch_size: int | None = setting(None, "training batch size (default: the preset's)", rules=[at_least(1)])
    schedule: str = setting(
        "step",
        f"learning-rate schedule: {' or '.join(SCHEDULES)} (step: lr/10 at half and at three "
        "quarters of the epochs, each drop at least one epoch after the one before, the paper's; "
        "cosine: annealed every epoch)",
        rules=[one_of(SCHEDULES)],
    )
    criterion: str = setting(
        "plsvip",
        f"stage importance criterion: {', '.join(CRITERIA)}, or the import path "
        "module:function of your own (features, labels) -> per-feature scores",
        "scoring",
    )
    scoring_samples: int | None = setting(
        None,
        "score the stage features of a stratified sample of this many training "
        "images (default: every training image, as the authors do)",
        "scoring",
        rules=[at_least(10)],
    )
    bootstrap: int = setting(
        20,
        "paired bootstrap replicates of the stage scores that give every decision its "
        "confidence P(T beats A) (0: none)",
        "stagewise_only",
        rules=[NOT_NEGATIVE],
    )
    min_confidence: float = setting(
        0.0,
        "grow a stage only when P(T beats A) is at least this (default 0: the "
        "paper's rule, T's score higher)",
        "stagewise_only",
        rules=[between(0, 1, "must be between 0 and 1")],
    )
    score_seeds: int = setting(
        1,
        "k: train A and T of every iteration from k init seeds and grow a stage when its "
        "mean T-A score difference over the seeds is positive; the confidence then covers "
        "training randomness too (1: the paper)",
        "stagewise_only",
        rules=[at_least(1)],
    )
    on_no_growth: str = setting(
        "retrain",
        f"when no stage grows: {' or '.join(NO_GROWTH_POLICIES)} (retrain: the next "
        "iteration trains A and T again from a new initialisation, as the authors' "
        "code does; stop: the search ends as converged)",
        "stagewise_only",
        rules=[one_of(NO_GROWTH_POLICIES)],
    )
    max_macs: float | None = setting(
        None,
        "grow only while the network stays within this many MACs per image",
        "stagewise_only",
        rules=[POSITIVE],
    )
    max_params: float | None = setting(
        None,
        "grow only while the network stays within this many parameters",
        "stagewise_only",
        rules=[POSITIVE],
    )
    max_latency_ms: float | None = setting(
        None,
        "grow only while the network's CPU latency (batch 1, 1 thread, measured "
        "on this machine) stays within this many milliseconds",
        "stagewise_only",
        rules=[POSITIVE],
    )
    final_epochs: int | None = setting(
        None,
        "after the search, every candidate (each iteration's A, the found network, "
        "the references) trains this many more epochs from its checkpoint at the "
        "schedule's last learning rate, logged in its own run (the paper: 100)",
        "stagewise_only",
        rules=[at_least(1)],
    )
    scoring_actors: int = setting(2, "number of Ray scoring actors", "scoring", rules=[at_least(1)])
    seed: int = setting(0, "seed of splits, initialisation, augmentation and scoring sample")
    gpus_per_trial: float | None = setting(
        None, "GPUs per trial (default: 0.5 when the cluster has GPUs, else 0)", rules=[NOT_NEGATIVE]
    )
    cpus_per_trial: float = setting(
        1.0,
        "CPUs (and torch threads) per trial; a CPU trial that trains alone (the found "
        "network, T after a reused A) on images of 16 pixels or more also holds its missing twin's",
        rules=[POSITIVE],
    )
    workers_per_trial: int = setting(
        1,
        "train each network data-parallel on this many Ray Train workers (DDP: gloo on "
        "CPUs, NCCL on GPUs), each holding --cpus-per-trial CPUs and --gpus-per-trial GPUs "
        "(default 1 when the cluster has GPUs); --batch-size stays the global batch, split "
        "evenly over the workers, at the same learning rate",
        rules=[at_least(1)],
    )
    country: str = setting(
        "USA", "ISO 3166-1 alpha-3 code of the electricity mix for kgCO2eq (codecarbon, offline)"
    )
    precision: str = setting(
        "auto", "auto (bf16 on GPUs that support it, else fp32), bf16 or fp32", rules=[one_of(PRECISIONS)]
    )
    compile: str = setting(
        "auto",
        "torch.compile the training step: auto (on a GPU when the time it saves exceeds "
        "the time it costs), on or off",
        rules=[one_of(COMPILE_CHOICES)],
    )
    budget_images: float | None = setting(
        None,
        "stop the search when this many training images (epochs x images) are spent",
        "budget",
        rules=[POSITIVE],
    )
    budget_gpu_hours: float | None = setting(
        None, "stop the search when this many GPU-hours are spent", "budget", rules=[POSITIVE]
    )
    budget_kgco2: float | None = setting(
        None, "stop the search when training has emitted this many kgCO2eq", "budget", rules=[POSITIVE]
    )
    tracking_uri: str | None = setting(
        None, "MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else sqlite:///<cwd>/mlflow.db)"
    )
    experiment: str = setting(
        "stagewise-nas",
        "MLflow experiment name",
        rules=[
            Rule(lambda value: bool(value.strip()), "must name an MLflow experiment (e.g. stagewise-nas)")
        ],
    )
    storage_path: str | None = setting(
        None,
        "Tune storage: a folder, a shared mount or a URI such as s3://bucket/path "
        "(default: $NAS_STORAGE_PATH, else <cwd>/nas_results)",
    )
    name: str | None = setting(None, "name of this search (Tune experiment folder, MLflow parent run)")
    resume: bool = setting(
        False,
        "continue the search --name after a crash or Ctrl-C, with its saved settings "
        "(same --storage-path, --tracking-uri and --experiment)",
        rules=[needs("name", what="needs --name, the name of the search to continue")],
    )
    progress_every: float = setting(
        30.0,
        "seconds between two status lines of a running network (epoch, accuracy, the "
        "search's remaining time); 0: one every epoch",
        "console",
        rules=[at_least(0, "must be 0 (a status line every epoch) or more seconds")],
    )
    dashboard: bool = setting(
        False,
        "start Ray's dashboard with the local Ray and print its URL (a cluster joined "
        "through RAY_ADDRESS has its own, printed when it has one)",
        "console",
    )

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
        return tuple(self.width * 2**i for i in range(len(self.start_depths)))

    @property
    def reference_depths(self) -> list[tuple[int, ...]]:
        """``--references 7,9`` -> uniform networks (7, 7, 7) and (9, 9, 9) for S = 3 stages."""
        if not self.references:
            return []
        return [
            (blocks,) * len(self.start_depths) for blocks in parse_counts("--references", self.references)
        ]

    @property
    def limits(self) -> dict[str, float]:
        """The resource limits given, by cost name (``macs``, ``params``, ``latency_ms``)."""
        given = {"macs": self.max_macs, "params": self.max_params, "latency_ms": self.max_latency_ms}
        return {name: float(value) for name, value in given.items() if value is not None}

    def network_spec(self, depths: Sequence[int], data: DataSplits) -> ArchSpec:
        """The network of ``depths`` that these settings build for ``data``."""
        return ArchSpec.for_data(depths, self.module, self.widths, data)

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
        overrides = {
            key: value
            for key, value in (
                ("epochs", epochs),
                ("lr", self.lr),
                ("batch_size", self.batch_size),
                ("schedule", self.schedule),
            )
            if value is not None
        }
        return TrainingConfig(**{**PRESETS[self.preset].to_dict(), **overrides})

    def to_params(self) -> dict[str, Any]:
        """The resolved settings as flat strings-and-numbers (MLflow params)."""
        params = {
            key: value
            for key, value in asdict(self).items()
            if value is not None and key != "resume" and key not in CONSOLE
        }
        params["start_depths"] = "-".join(map(str, self.start_depths))
        params.update({f"train.{k}": v for k, v in self.training().to_dict().items()})
        return params


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


# what ``--resume`` reads from the command line: everything else comes from the saved search
# where a search lives and what it is called: all that a command working on a saved search
# (--resume, audit --from-search) takes from its flags; the rest comes from the saved settings
SEARCH_LOCATION = ("name", "tracking_uri", "storage_path", "experiment")


RESUME_READS = ("resume", *SEARCH_LOCATION)


# the settings that choose a data set and make its splits: what ``prepare-data`` writes
DATA_SETTINGS = ("dataset", "data_dir", "image_size", "val_fraction", "max_train_images", "seed")
