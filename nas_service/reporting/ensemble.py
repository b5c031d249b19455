"""Average the softmax of the best candidates (the paper's
ensemble of its candidates, 95.68% with 7.27M parameters).

Members are the ``--top K`` candidates by validation accuracy among the children of one search
(``--run-id``) or of every search in ``--experiment``; they must have been trained on the same data
(data set, folder, seed and subset), which is reloaded from the searches' saved settings.  The
ensemble's test accuracy, total parameters and members are logged as an MLflow run tagged
``nas.method = ensemble`` and printed next to its best member.
"""

from __future__ import annotations

import logging

import numpy as np
import torch
from mlflow.tracking import MlflowClient

from nas_service.config import SearchConfig
from nas_service.core.errors import ConfigError
from nas_service.preflight import require_existing_store
from nas_service.reporting.report import search_state
from nas_service.tracking.queries import (
    child_runs,
    downloaded_checkpoint,
    read_json_artifact,
    search_parent_run,
)
from nas_service.tracking.tags import PARENT_RUN_ID_TAG, SEARCH_CONFIG_ARTIFACT
from trainables.checkpoints import load_trained_model
from trainables.metrics.size import count_parameters
from trainables.training import ImageBatches, channel_stats

logger = logging.getLogger(__name__)
DATA_KEYS = ("dataset", "data_dir", "seed", "image_size", "max_train_images")


def ensemble(tracking_uri: str, top: int, experiment: str | None = None, run_id: str | None = None) -> dict:
    """Evaluate the softmax average of the ``top`` candidates of one search (``run_id``) or of
    every search in ``experiment`` on the test split, and log it as an MLflow run."""
    require_existing_store(tracking_uri)
    client = MlflowClient(tracking_uri)
    if run_id is not None:
        parents = [search_parent_run(client, run_id)]
    else:
        found = client.get_experiment_by_name(experiment)
        if found is None:
            raise ConfigError(f"--experiment {experiment!r}: no such experiment at {tracking_uri}")
        parents = [
            r
            for r in client.search_runs([found.experiment_id])
            if PARENT_RUN_ID_TAG not in r.data.tags
            and any(a.path == SEARCH_CONFIG_ARTIFACT for a in client.list_artifacts(r.info.run_id))
        ]
    candidates = []
    settings = {}
    for parent in parents:
        state = search_state(parent, holder="the ensemble takes")
        if state is not None:
            logger.warning(f"warning: {state}")
        saved = read_json_artifact(client, parent.info.run_id, SEARCH_CONFIG_ARTIFACT)
        settings[parent.info.run_id] = saved
        children = child_runs(client, parent, "attributes.status = 'FINISHED'")
        candidates += [c for c in children if "val_accuracy" in c.data.metrics]
    if not candidates:
        raise ConfigError("no finished candidates to ensemble in the runs given")
    data_of = {tuple(s.get(k) for k in DATA_KEYS) for s in settings.values()}
    if len(data_of) != 1:
        raise ConfigError(
            f"the searches were trained on different data {sorted(data_of)}: "
            "ensemble one search (--run-id) or searches of one data set"
        )
    members = sorted(candidates, key=lambda c: -c.data.metrics["val_accuracy"])[:top]
    config = SearchConfig(**next(iter(settings.values())))
    data = config.load_data()
    if data.x_test is None:
        raise ConfigError(f"data set {config.dataset!r} has no test split to evaluate on")
    test = ImageBatches(data.x_test, data.y_test, *channel_stats(data.x_train), torch.device("cpu"))
    probabilities, parameters, accuracies = [], 0, []
    for member in members:
        with downloaded_checkpoint(client, member.info.run_id) as folder:
            _, model = load_trained_model(folder)
        with torch.no_grad():
            member_probabilities = torch.cat([model(x).softmax(1) for x, _ in test.batches(512)])
        probabilities.append(member_probabilities.numpy())
        accuracies.append(float((member_probabilities.argmax(1).numpy() == data.y_test).mean()))
        parameters += count_parameters(model)
    ensemble_accuracy = float((np.mean(probabilities, axis=0).argmax(1) == data.y_test).mean())
    best = int(np.argmax(accuracies))
    record = {
        "members": [m.info.run_name for m in members],
        "member_test_accuracy": accuracies,
        "test_accuracy": ensemble_accuracy,
        "params": parameters,
        "best_member": members[best].info.run_name,
        "best_member_test_accuracy": accuracies[best],
    }
    run = client.create_run(
        parents[0].info.experiment_id,
        run_name=f"ensemble-top{top}",
        tags={"nas.method": "ensemble", "nas.members": ",".join(m.info.run_id for m in members)},
    )
    for key in ("test_accuracy", "params", "best_member_test_accuracy"):
        client.log_metric(run.info.run_id, key, record[key])
    client.set_terminated(run.info.run_id, "FINISHED")
    logger.info(
        f"ensemble of {', '.join(record['members'])}: test accuracy "
        f"{100 * ensemble_accuracy:.2f}% with {parameters} params; best member "
        f"{record['best_member']} {100 * accuracies[best]:.2f}%"
    )
    return record
