"""Uniform networks (every stage m modules deep) trained with a search's protocol, as one
MLflow parent run tagged ``nas.method = uniform`` with a child ``reference-m-..-m`` per network.

``compare`` trains, once per seed, the ``--references`` and the uniform networks whose MACs
bracket each method's best network (``trainables.metrics.uniform``): the hand-made alternatives a
found network must beat at equal cost.  They are not charged to any method's budget.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pandas as pd

from nas_service.config import SearchConfig
from nas_service.core.candidates import best_by_validation
from nas_service.tracking.records import log_json_artifact
from nas_service.tune.experiment import start_experiment
from nas_service.tune.fixed_searcher import FixedSearcher
from nas_service.tune.results import raise_if_trials_failed
from trainables.datasets.splits import DataSplits
from trainables.spec import format_depths
from trainables.trial_config import INIT_SEED_KEY, trial_config

logger = logging.getLogger(__name__)

METHOD = "uniform"
ROLE = "reference"


def uniform_trials(depths: Sequence[tuple[int, ...]], seed: int) -> list[dict]:
    """Trial configs, cheapest first, each network once."""
    unique = sorted(dict.fromkeys(tuple(d) for d in depths), key=lambda d: (sum(d), d))
    return [trial_config(d, ROLE, **{INIT_SEED_KEY: seed}) for d in unique]


def train_uniform(
    config: SearchConfig,
    depths: Sequence[tuple[int, ...]],
    data: DataSplits | None = None,
    why: dict[str, str] | None = None,
) -> dict:
    """Train ``depths`` with ``config``'s protocol and seed; returns the parent run id and the
    candidates table.  ``why``: depths text -> why it is trained, logged as ``uniform.json``."""
    trials = uniform_trials(depths, config.seed)
    experiment = start_experiment(config, METHOD, score_stages=False, data=data)
    logger.info(f"uniform networks: {', '.join(format_depths(t['depths']) for t in trials)}")
    tuner = experiment.make_tuner([], len(trials), search_alg=FixedSearcher(trials))
    with experiment.parent_run_status():
        results, table = experiment.fit(tuner)
        raise_if_trials_failed(results, "uniform networks")
        if experiment.stop_requested:
            raise experiment.interrupted()
        experiment.log_outcome(results, best_by_validation(table))
        log_json_artifact(
            experiment.client,
            experiment.parent_run_id,
            "uniform.json",
            {"networks": [format_depths(t["depths"]) for t in trials], "why": why or {}},
        )
    return {"parent_run_id": experiment.parent_run_id, "table": pd.DataFrame(table)}
