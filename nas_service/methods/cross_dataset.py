"""A found network on another data set (the paper's Table VI; ``--transfer-to``).

The architecture a search found on one data set is trained on another, twice: from scratch, and
fine-tuned from the search's trained weights (stem adapted to the new input channels or fresh when
it does not fit, every stage module copied, a fresh head for the new classes).  Beside it trains
the uniform network of the same module type and widths whose MACs on the new data are closest
(``closest_uniform_depths``) and any ``--references``: the question Table VI answers is whether the
found depths beat a hand-made network of similar cost on data the search never saw.

Each network is a Tune trial and an MLflow child run (``scratch-<depths>``, ``finetuned-<depths>``,
``reference-<depths>``) of one parent run tagged ``nas.method = transfer-to``; the table is
printed and written as ``transfer.md`` and ``transfer.csv``.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from ray import tune

from nas_service.config import SearchConfig
from nas_service.core.errors import ConfigError
from nas_service.reporting.report import markdown_table
from nas_service.tracking.queries import read_json_artifact, trained_network_run
from nas_service.tune.donor import load_donor_source
from nas_service.tune.experiment import (
    Experiment,
    start_experiment,
)
from nas_service.tune.fixed_searcher import FixedSearcher
from nas_service.tune.results import raise_if_trials_failed
from trainables.checkpoints import ARCHITECTURE_FILE
from trainables.datasets.splits import DataSplits
from trainables.metrics.uniform import closest_uniform_depths
from trainables.spec import ArchSpec, format_depths
from trainables.transfer import Donor
from trainables.trial_config import EPOCHS_KEY, FROM_DONOR, INIT_KEY, SCRATCH, trial_config

logger = logging.getLogger(__name__)

METHOD = "transfer-to"
SHOWN = [
    "role",
    "depths",
    "init",
    "epochs",
    "depth",
    "params",
    "macs",
    "train_seconds",
    "val_accuracy",
    "test_accuracy",
]


def transfer_trials(
    found: tuple[int, ...], references: list[tuple[int, ...]], epochs: int, finetune_epochs: int
) -> list[dict]:
    """Trial configs: the found network from scratch and fine-tuned, then the references."""
    trials = [
        trial_config(found, "scratch", **{INIT_KEY: SCRATCH, EPOCHS_KEY: epochs}),
        trial_config(found, "finetuned", **{INIT_KEY: FROM_DONOR, EPOCHS_KEY: finetune_epochs}),
    ]
    for depths in dict.fromkeys(references):
        trials.append(trial_config(depths, "reference", **{INIT_KEY: SCRATCH, EPOCHS_KEY: epochs}))
    return trials


def new_task_donor(config: SearchConfig, in_channels: int) -> Donor:
    """The found network as a donor to another data set: any ``in_channels`` (the stem is
    adapted), fresh head; stage widths and depths are the found network's by construction."""
    return load_donor_source(config).for_new_task()


def transfer_started(config: SearchConfig) -> bool:
    """Whether the transfer ``config`` names has Tune state to resume (a resumed search whose
    transfer phase was interrupted continues it)."""
    return tune.Tuner.can_restore(str(Path(config.storage_path) / config.name))


def transfer_found_network(config: SearchConfig, data: DataSplits | None = None) -> dict:
    """Train the network of ``config.transfer_from`` (a search's parent run or a candidate's run)
    on ``config``'s data set as the module docstring says; returns the parent run id and the
    table's rows."""
    if not config.resume:  # the found network's architecture; start_experiment loads weights
        source = str(config.transfer_from).removeprefix("runs:/").split("/")[0]
        client = MlflowClient(config.tracking_uri)
        try:
            found_run = trained_network_run(client, source)
            found = ArchSpec.from_dict(read_json_artifact(client, found_run, ARCHITECTURE_FILE))
        except MlflowException as error:
            raise ConfigError(f"--run-id {source}: {error.message}") from None
        config = replace(
            config,
            transfer_from=f"runs:/{found_run}",
            module=found.module,
            width=found.widths[0],
            initial_depths=found.depths_text,
            stages=found.num_stages,
        )
    experiment = start_experiment(config, METHOD, score_stages=False, data=data, donor_for=new_task_donor)
    config, settings = experiment.config, experiment.settings
    target = settings.spec_for(config.start_depths)
    uniform = closest_uniform_depths(target)
    epochs = replace(config, transfer_from=None).training().epochs  # what scratch trains
    finetune_epochs = config.training().epochs  # --finetune-epochs, else the same
    trials = transfer_trials(target.depths, [uniform, *config.reference_depths], epochs, finetune_epochs)
    logger.info(
        f"transfer to {config.dataset}: {target.depths_text} from scratch ({epochs} "
        f"epochs) and fine-tuned from {config.transfer_from} ({finetune_epochs} epochs), beside "
        f"{format_depths(uniform)} (closest MACs)"
    )
    tuner = experiment.make_tuner([], len(trials), search_alg=FixedSearcher(trials))
    with experiment.parent_run_status():
        results, table = experiment.fit(tuner)
        raise_if_trials_failed(results, f"transfer to {config.dataset}")
        shown = _transfer_table(table, results, config.transfer_from)
        finetuned = table[table["role"] == "finetuned"]  # the found network, on the new data
        experiment.log_outcome(results, finetuned.iloc[-1].to_dict() if len(finetuned) else None)
        _log_transfer_table(experiment, shown)
    with pd.option_context(
        "display.width", 200, "display.max_columns", 20, "display.float_format", "{:.4g}".format
    ):
        logger.info(f"\nTransfer to {config.dataset}:\n" + shown.to_string(index=False))
    return {"parent_run_id": experiment.parent_run_id, "rows": shown.to_dict("records")}


def _transfer_table(table: pd.DataFrame, results, donor: str) -> pd.DataFrame:
    """The candidates table with how each network started and how long it trained."""
    configs = {(r.metrics or {}).get("trial_id"): (r.metrics or {}).get("config") or {} for r in results}
    trial_configs = table["trial_id"].map(configs)
    table = table.assign(
        init=trial_configs.map(
            lambda c: f"fine-tuned from {donor}" if c.get(INIT_KEY) == FROM_DONOR else "scratch"
        ),
        epochs=trial_configs.map(lambda c: c.get(EPOCHS_KEY)),
    )
    order = {"scratch": 0, "finetuned": 1, "reference": 2}
    table = table.sort_values(["role", "macs"], key=lambda c: c.map(order) if c.name == "role" else c)
    return table[[c for c in SHOWN if c in table.columns]].reset_index(drop=True)


def _log_transfer_table(experiment: Experiment, shown: pd.DataFrame) -> None:
    """``transfer.csv`` and ``transfer.md`` next to Tune's files and on the parent run."""
    if "://" in str(experiment.folder):
        return
    experiment.folder.mkdir(parents=True, exist_ok=True)
    csv_path, markdown_path = experiment.folder / "transfer.csv", experiment.folder / "transfer.md"
    shown.to_csv(csv_path, index=False)
    markdown_path.write_text(
        f"# {experiment.config.name}: transfer to {experiment.config.dataset}\n\n{markdown_table(shown)}\n"
    )
    for path in (csv_path, markdown_path):
        experiment.client.log_artifact(experiment.parent_run_id, str(path))
