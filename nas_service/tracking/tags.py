"""The names a search writes into MLflow: tags, artifacts and metrics of its parent run and of
its candidates' child runs.  The MLflow UI, ``report``, ``--resume`` and the tests all read a search
back by these names."""

from __future__ import annotations

PARENT_RUN_ID_TAG = "mlflow.parentRunId"
METHOD_TAG = "nas.method"
VERSION_TAG = "nas.version"  # the stagewise-nas that started a search
STATE_FORMAT_TAG = "nas.state_format"  # the layout of what it saved for --resume
TRIAL_ID_TAG = "nas.trial_id"
FINAL_RUN_ID_TAG = "nas.final_run_id"
CONVERGED_AFTER_TAG = "nas.converged_after_iteration"
CONVERGED_REASON_TAG = "nas.converged_reason"
NODE_ID_TAG = "nas.node_id"
WORKER_NODE_IDS_TAG = "nas.worker_node_ids"  # a data-parallel trial's: every rank's, in rank order
TEST_ACCURACY_SOURCE_TAG = "nas.test_accuracy_source"
BUDGET_SPENT_TAG = "nas.budget_spent"  # the budget stopper ended the search
# the resolved settings of a search, on its parent run: resume and ensembles read them back
SEARCH_CONFIG_ARTIFACT = "search_config.json"
ACCELERATION_TAG_PREFIX = "nas.train."
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"  # which of its two views the MLflow UI opens
DESCRIPTION_TAG = "mlflow.note.content"  # the run page's Description box (markdown)
DATASET_CONTEXT_TAG = "mlflow.data.context"
# a parent run's metrics: the measures of the network the search returns (stage-wise: its found
# network; the baselines: their best by validation accuracy), under the children's names, so
# that the experiment table sorts every method's parent by ``test_accuracy``...
NETWORK_METRICS = ("val_accuracy", "test_accuracy", "params", "macs", "cpu_latency_ms", "depth")
# ...and what the whole search cost, under ``search/`` (a child's ``emissions_kg`` is its own)
SEARCH_METRICS_PREFIX = "search/"
WALL_SECONDS_METRIC = f"{SEARCH_METRICS_PREFIX}wall_seconds"
