"""What the MLflow UI shows of the newest stage-wise search, read through a tracking server's REST
API (the calls the UI makes), with nothing but the standard library:

    mlflow server --backend-store-uri sqlite:///$PWD/mlflow.db --port 5000 &
    python examples/mlflow_rest.py http://127.0.0.1:5000
"""

from __future__ import annotations

import json
import sys
import urllib.parse
import urllib.request


def call(server: str, endpoint: str, body: dict | None = None, **query: str) -> dict:
    """GET (``query``) or POST (``body``) ``/api/2.0/mlflow/<endpoint>``; the decoded JSON."""
    address = f"{server}/api/2.0/mlflow/{endpoint}"
    if query:
        address += "?" + urllib.parse.urlencode(query)
    request = urllib.request.Request(
        address, json.dumps(body).encode() if body else None, {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def pairs(entries: list[dict]) -> dict:
    return {entry["key"]: entry["value"] for entry in entries}


def main(server: str, experiment_name: str = "stagewise-nas") -> None:
    experiment = call(server, "experiments/get-by-name", experiment_name=experiment_name)["experiment"][
        "experiment_id"
    ]
    searches = call(
        server,
        "runs/search",
        {
            "experiment_ids": [experiment],
            "filter": "tags.`nas.method` = 'stagewise'",
            "order_by": ["attributes.start_time DESC"],
        },
    )["runs"]
    parent = next(run for run in searches if "mlflow.parentRunId" not in pairs(run["data"].get("tags", [])))
    parent_id = parent["info"]["run_id"]
    run = call(server, "runs/get", run_id=parent_id)["run"]
    print(f"parent run {parent_id} ({run['info']['run_name']}), {run['info']['status']}")
    print(
        "  metrics:",
        {
            key: round(value, 6)
            for key, value in sorted(pairs(run["data"]["metrics"]).items())
            if "/s" not in key
        },
    )
    for entry in run["inputs"].get("dataset_inputs", []):
        dataset = entry["dataset"]
        print(
            f"  dataset: {dataset['name']} ({dataset['digest']}), {dataset['source_type']} "
            f"{dataset['source']}, {dataset['profile']}"
        )
    print("  logged models:", [o["model_id"] for o in run.get("outputs", {}).get("model_outputs", [])])
    description = pairs(run["data"]["tags"]).get("mlflow.note.content", "")
    print("  description:", *description.splitlines()[:5], sep="\n    ")

    children = call(
        server,
        "runs/search",
        {
            "experiment_ids": [experiment],
            "filter": f"tags.`mlflow.parentRunId` = '{parent_id}'",
            "order_by": ["attributes.start_time ASC"],
        },
    )["runs"]
    print(f"{len(children)} candidates:")
    for child in children:
        params = pairs(child["data"]["params"])
        metrics = pairs(child["data"]["metrics"])
        stages = [int(params[f"m{i}"]) for i in range(1, int(params["num_stages"]) + 1)]
        print(
            f"  {child['info']['run_name']}: m = {stages}, depth {params['depth']}, "
            f"epochs {params['epochs']}, lr {params['lr']}, batch {params['batch_size']}, "
            f"test accuracy {metrics.get('test_accuracy', float('nan')):.4f}, "
            f"datasets {[i['dataset']['digest'] for i in child['inputs']['dataset_inputs']]}"
        )
    models = call(server, "logged-models/search", {"experiment_ids": [experiment]})["models"]
    for model in models:
        info = model["info"]
        print(
            f"logged model {info['model_id']} from run {info['source_run_id']}: "
            f"{info['status']}, params {pairs(model['data'].get('params', []))}"
        )


if __name__ == "__main__":
    main(*sys.argv[1:])
