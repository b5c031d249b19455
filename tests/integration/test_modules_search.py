"""A real one-iteration search with each module type."""

import pytest
from mlflow.tracking import MlflowClient

from nas_service.cli.arguments import parse_config
from nas_service.methods.stagewise import search
from nas_service.tracking.tags import PARENT_RUN_ID_TAG
from trainables.spec import ArchSpec


@pytest.mark.parametrize("module,stages", [("bottleneck", 4), ("nasnet", 3)])
def test_a_search_runs_end_to_end_with_each_module(
    ray_session, tmp_path, tracking_uri, monkeypatch, module, stages
):
    monkeypatch.chdir(tmp_path)
    config = parse_config(
        [
            "--module",
            module,
            "--width",
            "4",
            "--m0",
            "1",
            "--iterations",
            "1",
            "--epochs",
            "1",
            "--dataset",
            "synthetic",
            "--image-size",
            "16",
            "--max-train-images",
            "200",
            "--tracking-uri",
            tracking_uri,
            "--name",
            module,
        ]
    )
    record = search(config)
    assert len(record["depths"].split("-")) == stages
    client = MlflowClient(tracking_uri)
    children = client.search_runs(
        [client.get_experiment_by_name("stagewise-nas").experiment_id],
        f"tags.`{PARENT_RUN_ID_TAG}` = '{record['parent_run_id']}'",
    )
    start, deepened = "-".join(["1"] * stages), "-".join(["2"] * stages)
    assert {c.data.params["depths"] for c in children} >= {start, deepened}
    for child in children:
        assert all(f"importance/s{i}" in child.data.metrics for i in range(1, stages + 1))
        depths = tuple(int(m) for m in child.data.params["depths"].split("-"))
        assert child.data.metrics["depth"] == ArchSpec(depths=depths, module=module).depth
        # 16x16 images: the found network, trained alone, holds the twin's CPU and its thread
        assert child.data.tags["nas.train.threads"] == ("2" if child.data.params["role"] == "final" else "1")
