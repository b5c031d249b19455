"""What every search method shares: data, Ray, trial resources, the MLflow parent run, the Tuner.

The methods (``nas_service.methods``: stage-wise, the baselines, uniform networks, ...) differ
only in how trials are proposed and scheduled; everything around that lives here.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

import pandas as pd
import ray
from mlflow.entities import Dataset
from mlflow.tracking import MlflowClient
from ray import tune
from ray.tune.search import Searcher
from ray.tune.stopper import CombinedStopper

from nas_service.config import SearchConfig
from nas_service.core.budget import Budget, networks_trained, spent_by
from nas_service.core.candidates import candidates_table
from nas_service.core.errors import SearchInterrupted
from nas_service.core.trials import run_name
from nas_service.limits import cost_warnings, cpu_cost_warnings
from nas_service.preflight import store_exists
from nas_service.tracking.lineage import dataset_record
from nas_service.tracking.new_store import build_aside, discard, move_into_place
from nas_service.tracking.queries import (
    budget_was_spent,
    child_run_ids,
    last_trial_measures,
)
from nas_service.tracking.records import (
    check_experiment_open,
    check_name_unused,
    log_dataset,
    log_json_artifact,
    log_numbers,
    log_search_outcome,
    mark_budget_spent,
    start_parent_run,
)
from nas_service.tracking.tags import (
    SEARCH_CONFIG_ARTIFACT,
    WALL_SECONDS_METRIC,
)
from nas_service.tracking.trial_callback import MLflowTrialCallback
from nas_service.tune.cluster import (
    TrialResources,
    alone_resources,
    connect,
    single_node,
    trial_resources,
)
from nas_service.tune.donor import resolve_donor
from nas_service.tune.lost_checkpoints import repoint_lost_checkpoints
from nas_service.tune.progress import ProgressPrinter, dashboard_hint, mlflow_ui_hint, search_plan
from nas_service.tune.saved_search import saved_search
from nas_service.tune.stop_signals import graceful_stop, interruption_name
from nas_service.tune.stopper import BudgetStopper, StopRequested
from nas_service.tune.trainable_name import register, saved_trainable_name, trainable_name
from trainables.datasets.mapped import MappedFolder, mapped_folder, recorded_moments
from trainables.datasets.splits import DataSplits
from trainables.datasets.statistics import Moments, channel_moments
from trainables.settings import TrialSettings
from trainables.trainable import train_candidate
from trainables.transfer import Donor

logger = logging.getLogger(__name__)

# Checkpointing every epoch is intended; Tune's "snapshotting too often" warning is noise here.
os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
# Tune's rich console tables repeat every epoch; ProgressPrinter gives throttled lines instead.
os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
# ...and one line per failure, instead of a page of Ray internals (the traceback stays in the
# trial folder's error.txt)
os.environ.setdefault("TUNE_PRINT_ALL_TRIAL_ERRORS", "0")

MAX_CONCURRENT_TRIALS = 2  # A and T of an iteration side by side; baselines get the same

# Tune warns once per result grid about trials that never reported (stopped by the budget before
# their first epoch ended); those are not failures, and the baselines say how many there were
_NEVER_REPORTED = "FileNotFoundError('Could not fetch metrics for"


class NeverReportedFilter(logging.Filter):
    """Drops Tune's "Failed to fetch metrics" warning when every trial it lists never reported."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if not message.startswith("Failed to fetch metrics"):
            return True
        failures = [line for line in message.splitlines()[1:] if line.startswith("- ")]
        return not all(_NEVER_REPORTED in line for line in failures)


logging.getLogger("ray.tune.analysis.experiment_analysis").addFilter(NeverReportedFilter())


# method -> the command (and its extra flags) that resumes it; baselines name their method
RESUME_COMMANDS = {"stagewise": ("run",), "train": ("train",), "transfer-to": ("transfer-to",)}


@dataclass
class Experiment:
    """One search's shared state: its settings, data, resources and MLflow parent run."""

    config: SearchConfig
    method: str
    settings: TrialSettings
    resources: TrialResources
    client: MlflowClient
    parent_run_id: str
    dataset: Dataset | None = None  # the data set as an MLflow input of every run
    stop_requested: bool = False  # a stop signal ended ``fit`` early
    # the driver's wall time in this search: before this start (a resumed search), and since
    earlier_wall_seconds: float = 0.0
    started: float = field(default_factory=time.monotonic)
    train_images: int = 1  # images of one epoch: what the budget's status lines count in

    @property
    def folder(self) -> Path:
        return Path(self.config.storage_path) / self.config.name

    def budget_stopper(self, budget: Budget) -> BudgetStopper | None:
        if not budget.limited:
            return None
        return BudgetStopper(
            budget,
            self.train_images,
            self.settings.training.epochs,
            MAX_CONCURRENT_TRIALS,
            history=partial(last_trial_measures, self.config.tracking_uri, self.parent_run_id),
            on_exhausted=partial(mark_budget_spent, self.config.tracking_uri, self.parent_run_id),
        )

    def budget_spent(self, stopper: BudgetStopper | None) -> bool:
        """Whether the budget ended this search: after a resume Tune ran the stopper it had
        pickled, not ``stopper``, and that one left a tag on the parent run."""
        if stopper is None:
            return False
        return stopper.exhausted or budget_was_spent(self.client, self.parent_run_id)

    def make_tuner(
        self,
        scorers: list,
        num_samples: int,
        search_alg=None,
        scheduler=None,
        param_space: dict | None = None,
        stopper: BudgetStopper | None = None,
        metric: str | None = None,
        mode: str | None = None,
        callbacks: tuple[tune.Callback, ...] = (),
    ) -> tune.Tuner:
        """A Tuner over ``train_candidate`` with MLflow children and the console's progress lines
        (``ProgressPrinter``: a status line per running trial, one per finished)."""
        trainable = register(
            saved_trainable_name(str(self.folder))
            if self.config.resume
            else trainable_name(self.config.name),
            tune.with_resources(
                tune.with_parameters(train_candidate, settings=self.settings, scorers=scorers), self.resources
            ),
        )
        if self.config.resume:
            # the searcher, stopper and callbacks come back from Tune's saved state; unfinished
            # trials continue from their last checkpoint, failed ones get another attempt;
            # a driver killed between a checkpoint's deletion and the state's save left trials
            # naming deleted checkpoints (``lost_checkpoints``)
            repoint_lost_checkpoints(str(self.folder))
            return tune.Tuner.restore(
                str(self.folder), trainable, resume_unfinished=True, resume_errored=True
            )
        # a scheduler or a budget may stop trials early: the estimate's counts are maximums then,
        # and the budget bounds the epochs it counts
        printer = ProgressPrinter(
            search_plan(
                search_alg,
                num_samples,
                self.settings.training.epochs,
                MAX_CONCURRENT_TRIALS,
                stops_early=scheduler is not None or stopper is not None,
                budget_images=self.config.budget_images if stopper else None,
                images_per_epoch=self.train_images,
                scheduler_stops=scheduler is not None,
            ),
            self.config.progress_every,
        )
        return tune.Tuner(
            trainable,
            param_space=param_space,
            tune_config=tune.TuneConfig(
                search_alg=search_alg,
                scheduler=scheduler,
                metric=metric,
                mode=mode,
                num_samples=num_samples,
                # a Searcher is limited by Tune; other search algorithms limit themselves
                max_concurrent_trials=MAX_CONCURRENT_TRIALS if isinstance(search_alg, Searcher) else None,
                # on one machine a finished trial's process trains the next one: it has imported
                # torch and started codecarbon's tracker (seconds per trial); on a cluster a fresh
                # actor per trial, so that the next trial starts on any free node instead of
                # waiting for the finished one's
                reuse_actors=single_node(),
                trial_name_creator=lambda trial: run_name(trial.config),
                trial_dirname_creator=lambda trial: f"{run_name(trial.config)}_{trial.trial_id}",
            ),
            run_config=tune.RunConfig(
                name=self.config.name,
                storage_path=self.config.storage_path,
                stop=CombinedStopper(stopper, StopRequested()) if stopper else StopRequested(),
                callbacks=[
                    MLflowTrialCallback(
                        self.config.tracking_uri,
                        self.parent_run_id,
                        self.settings.spec_for(self.config.start_depths),
                        self.child_params(),
                        self.dataset,
                    ),
                    printer,
                    *callbacks,
                ],
                checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
                verbose=0,
                failure_config=tune.FailureConfig(max_failures=1),
            ),
        )

    @contextmanager
    def parent_run_status(self):
        """Ends the parent run FINISHED when the block completes, KILLED on Ctrl-C (or SIGTERM,
        SIGHUP: ``stop_signals``), else FAILED.

        A second Ctrl-C (Tune handles the first one) becomes ``SearchInterrupted`` too."""
        status = "FAILED"
        try:
            yield
            status = "FINISHED"
        except KeyboardInterrupt:
            status = "KILLED"
            raise self.interrupted() from None
        except SearchInterrupted:
            status = "KILLED"
            raise
        finally:
            log_numbers(
                self.client,
                self.parent_run_id,
                {WALL_SECONDS_METRIC: self.earlier_wall_seconds + time.monotonic() - self.started},
            )
            self.client.set_terminated(self.parent_run_id, status)

    def child_params(self) -> dict[str, object]:
        """The settings every child run shows beside its network (``trial_params``): what its
        network is made of and how it was trained."""
        training = self.settings.training
        params = {
            "dataset": self.config.dataset,
            "module": self.config.module,
            "width": self.settings.spec_for(self.config.start_depths).widths[0],
            "seed": self.config.seed,
            "preset": self.config.preset,
            "epochs": training.epochs,
            "lr": training.lr,
            "batch_size": training.batch_size,
            "precision": self.config.precision,
        }
        if self.settings.score_stages:
            params["criterion"] = self.config.criterion
        return params

    def log_outcome(self, results, network: dict | None) -> None:
        """The parent run's metrics: ``network``'s measures (the network the search returns)
        and what all of its trials spent."""
        finished = [result.metrics for result in results if result.metrics]
        log_search_outcome(
            self.client, self.parent_run_id, network, spent_by(finished), networks_trained(finished)
        )

    def interrupted(self) -> SearchInterrupted:
        """The error for a search stopped by Ctrl-C (or SIGTERM, SIGHUP): it names the command
        that continues it."""
        command, *method_flag = RESUME_COMMANDS.get(self.method, ("baselines", "--method", self.method))
        return SearchInterrupted(
            f"search interrupted ({interruption_name()}); Tune saved its state and MLflow run "
            f"{self.parent_run_id} keeps what finished.",
            command,
            (
                *method_flag,
                "--resume",
                "--name",
                self.config.name,
                "--storage-path",
                self.config.storage_path,
                "--tracking-uri",
                self.config.tracking_uri,
                "--experiment",
                self.config.experiment,
            ),
        )

    def fit(self, tuner: tune.Tuner):
        """Run the trials; their table is written (``log_table``) before anything else is decided,
        so a search that then fails or was interrupted still leaves it.  Returns (results, table).

        Ctrl-C, SIGTERM and SIGHUP stop the trials gracefully (``stop_requested`` says so
        afterwards; Tune itself returns as if the search had ended)."""
        with graceful_stop() as request:
            results = tuner.fit()
        self.stop_requested = request.requested
        table = candidates_table(results, self.child_run_ids())
        self.log_table(table)
        return results, table

    def child_run_ids(self) -> dict[str, str]:
        return child_run_ids(self.client, self.parent_run_id)

    def log_table(self, table: pd.DataFrame) -> None:
        """``candidates.csv`` next to Tune's files and on the parent run."""
        if table.empty or "://" in str(self.folder):
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / "candidates.csv"
        table.to_csv(path, index=False)
        self.client.log_artifact(self.parent_run_id, str(path))


def start_experiment(
    config: SearchConfig,
    method: str,
    score_stages: bool = True,
    data: DataSplits | None = None,
    donor_for: Callable[[SearchConfig, int], Donor] | None = None,
) -> Experiment:
    """Load the data unless given (bad files fail before Ray), join Ray, size trials, open the
    parent run.

    With ``config.resume`` the saved settings of the search ``config.name`` replace ``config`` and
    its parent run is reopened.  ``donor_for(config, in_channels)`` loads and checks the
    ``--transfer-from`` donor (default ``resolve_donor``)."""
    parent_run_id = None
    if config.resume:
        config, parent_run_id = saved_search(MlflowClient(config.tracking_uri), config, method)
    data = data if data is not None else config.load_data()
    donor = (donor_for or resolve_donor)(config, data.in_channels) if config.transfer_from else None
    training = config.training()
    logger.info(f"{method}: {data.summary()}; {training.epochs} epochs per network")
    if store_exists(config.tracking_uri):  # opening a sqlite store creates it: not before Ray
        client = MlflowClient(config.tracking_uri)
        check_experiment_open(client, config.experiment)
        if not config.resume:
            check_name_unused(client, config.experiment, config.name)
    with ThreadPoolExecutor(max_workers=3) as pool:
        # done while Ray starts: the size estimate imports torch's compiler (about 3 s), a new
        # sqlite store's tables take 3-5 s (moved into place only once the cluster takes the
        # search, so a refused search leaves no store), the normalisation reads every training
        # image (numpy releases the GIL)
        cpu_warnings = pool.submit(cpu_cost_warnings, config, data)
        new_store = pool.submit(build_aside, config.tracking_uri)
        moments = pool.submit(normalisation_moments, data)
        try:
            dashboard = connect(config.starts_dashboard)
            workers = config.workers_per_trial
            shared = trial_resources(config.cpus_per_trial, config.gpus_per_trial, workers)
            alone = (
                alone_resources(shared, MAX_CONCURRENT_TRIALS, data.image_size) if workers == 1 else shared
            )  # a Train run's workers are fixed
            resources = TrialResources(shared, alone, workers)
        except BaseException:
            discard(new_store.result())
            raise
    move_into_place(new_store.result(), config.tracking_uri)
    warnings = cost_warnings(config, data, ray.cluster_resources().get("CPU", 1.0))
    if not shared["gpu"]:  # GPU trials train these sizes in reasonable time
        warnings = cpu_warnings.result() + warnings
    for warning in warnings:
        logger.warning("warning: %s", warning)
    client = MlflowClient(config.tracking_uri)  # opening a sqlite store creates it: not before
    dataset = dataset_record(data, config.dataset, config.data_dir)
    earlier_wall_seconds = 0.0
    if parent_run_id is None:
        parent_run_id = start_parent_run(client, config.experiment, config.name, method, config.to_params())
        log_json_artifact(client, parent_run_id, SEARCH_CONFIG_ARTIFACT, asdict(config))
        log_dataset(client, parent_run_id, dataset, "search")
    else:
        client.update_run(parent_run_id, status="RUNNING")
        earlier_wall_seconds = client.get_run(parent_run_id).data.metrics.get(WALL_SECONDS_METRIC, 0.0)
    logger.info(
        f"MLflow parent run {parent_run_id} in experiment {config.experiment!r} at "
        f"{config.tracking_uri}; Tune files in {config.storage_path}/{config.name}; "
        f"{resources.describe()}"
    )
    experiment_id = client.get_run(parent_run_id).info.experiment_id
    for hint in (
        mlflow_ui_hint(config.tracking_uri, experiment_id, parent_run_id),
        dashboard_hint(dashboard),
    ):
        if hint:
            logger.info(hint)
    settings = TrialSettings(
        data_source=data_source(data),
        training=training,
        criterion=config.criterion,
        scoring_samples=config.scoring_samples,
        seed=config.seed,
        module=config.module,
        widths=config.widths,
        gpus_per_trial=shared["gpu"],
        country=config.country,
        score_stages=score_stages,
        precision=config.precision,
        compile=config.compile,
        donor=donor,
        bootstrap=config.bootstrap if score_stages else 0,
        experiment_path=f"{config.storage_path}/{config.name}",
        workers_per_trial=workers,
        cpus_per_trial=shared["cpu"],
        channel_moments=moments.result(),
    )
    return Experiment(
        config,
        method,
        settings,
        resources,
        client,
        parent_run_id,
        dataset,
        earlier_wall_seconds=earlier_wall_seconds,
        train_images=len(data.y_train),
    )


def normalisation_moments(data: DataSplits) -> Moments:
    """The training images' channel moments: as a prepared folder records them, else computed
    (a full pass over the images)."""
    return recorded_moments(data) or channel_moments(data.x_train)


def data_source(data: DataSplits) -> ray.ObjectRef | MappedFolder:
    """Where the trials read ``data``: a prepared folder maps its files on every node by itself;
    anything else is put into the object store once, for every trial of the search."""
    folder = mapped_folder(data)
    if folder is None:
        return ray.put(data)
    logger.info(
        f"every trial memory-maps the data set from {folder.folder} (not through Ray's "
        "object store): it must be at that path on every node"
    )
    return folder
