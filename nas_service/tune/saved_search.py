"""Which search ``--resume`` continues, and whether this version can continue it.

A search lives in an MLflow parent run (its settings, ``search_config.json``) and a Tune folder
(its trials and the searcher's pickled state).  Both must be there, and the state must have this
version's layout: Tune would otherwise fail deep inside its unpickling.
"""

from __future__ import annotations

import logging
from pathlib import Path

from mlflow.tracking import MlflowClient
from ray import tune

from nas_service import SEARCH_STATE_FORMAT, __version__
from nas_service.config import RESUME_READS, SearchConfig
from nas_service.core.errors import ConfigError
from nas_service.tracking.queries import find_parent_run, read_json_artifact
from nas_service.tracking.tags import SEARCH_CONFIG_ARTIFACT, STATE_FORMAT_TAG, VERSION_TAG

logger = logging.getLogger(__name__)


def saved_search(client: MlflowClient, config: SearchConfig, method: str) -> tuple[SearchConfig, str]:
    """(settings, parent run id) of the search to resume; where it lives comes from ``config``."""
    where = (
        f"in experiment {config.experiment!r} at {config.tracking_uri} and Tune folder "
        f"{config.storage_path}/{config.name}"
    )
    parent = find_parent_run(client, config.experiment, method, config.name)
    parent_run_id = parent.info.run_id if parent is not None else None
    folder = Path(config.storage_path) / config.name
    if parent_run_id is None or not tune.Tuner.can_restore(str(folder)):
        raise ConfigError(
            f"--resume --name {config.name}: no {method} search of that name {where}; nothing to resume"
        )
    check_state_format(parent, f"--resume --name {config.name}")
    saved = read_json_artifact(client, parent_run_id, SEARCH_CONFIG_ARTIFACT)
    location = {key: getattr(config, key) for key in RESUME_READS}
    logger.info(f"resuming {config.name} (MLflow run {parent_run_id}) with its saved settings")
    return SearchConfig(**{**saved, **location}), parent_run_id


def check_state_format(parent, flag: str) -> None:
    """A ``ConfigError`` naming the version that saved the search ``parent`` when its saved
    state has another layout than this version's: Tune would fail deep inside its unpickling."""
    if parent.data.tags.get(STATE_FORMAT_TAG) == str(SEARCH_STATE_FORMAT):
        return
    saved_by = parent.data.tags.get(VERSION_TAG, "0.1.0 or older")
    raise ConfigError(
        f"{flag}: saved by stagewise-nas {saved_by}, whose saved search state "
        f"stagewise-nas {__version__} cannot read; finish it with the version that "
        "saved it, or start a new search"
    )
