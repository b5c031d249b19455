"""A stage-wise search from Python: the API that ``stagewise-nas run`` uses.

Run it with ``python examples/python_api.py``; it writes ``mlflow.db`` and ``nas_results/`` in the
working directory, as the command line does (about a minute on a laptop CPU).
"""

import logging

import mlflow.pytorch
import torch

from nas_service import ConfigError, SearchConfig, search

logging.basicConfig(level=logging.INFO, format="%(message)s")  # the search's progress lines

try:
    search(SearchConfig(dataset="digits", epochs=0))
except ConfigError as error:  # bad settings fail before Ray starts, as on the command line
    print(f"refused: {error}")

result = search(
    SearchConfig(
        dataset="digits", iterations=1, m0=1, delta=1, epochs=2, scoring_samples=300, name="api-example"
    )
)
print("found", result.depths, "in MLflow run", result.parent_run_id)
for decision in result.decisions:
    print(f"iteration {decision['iteration']}: A {decision['A']} vs T {decision['T']} -> {decision['next']}")
print(result.candidates[["run_name", "params", "val_accuracy", "test_accuracy"]])

model = mlflow.pytorch.load_model(result.model_uri)  # the found network, trained
print(model(torch.zeros(1, 1, 8, 8)).shape)
