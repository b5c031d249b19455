"""A user's own data set, module type and criterion, each given by import path, in one search."""

from __future__ import annotations

from mlflow.tracking import MlflowClient

from nas_service.cli.run import main as run_main
from nas_service.tracking.tags import PARENT_RUN_ID_TAG
from trainables.metrics.size import count_parameters
from trainables.models import build_model
from trainables.spec import ArchSpec


def test_a_search_with_the_users_data_set_module_type_and_criterion(
    ray_session, tmp_path, tracking_uri, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    plugins = [
        "--dataset",
        "user_plugins:load_bars",
        "--module",
        "user_plugins:PLAIN",
        "--criterion",
        "user_plugins:quarter",
    ]
    assert (
        run_main(
            [
                *plugins,
                "--iterations",
                "1",
                "--epochs",
                "1",
                "--bootstrap",
                "0",
                "--tracking-uri",
                tracking_uri,
                "--name",
                "plugins",
            ]
        )
        == 0
    )

    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name("stagewise-nas")
    (parent,) = client.search_runs([experiment.experiment_id], "attributes.run_name = 'plugins'")
    assert {key: parent.data.params[key] for key in ("dataset", "module", "criterion")} == {
        "dataset": "user_plugins:load_bars",
        "module": "user_plugins:PLAIN",
        "criterion": "user_plugins:quarter",
    }
    assert parent.data.params["start_depths"] == "1-1"  # the module type's own m0 and stages
    children = client.search_runs(
        [experiment.experiment_id], f"tags.`{PARENT_RUN_ID_TAG}` = '{parent.info.run_id}'"
    )
    assert {c.info.run_name for c in children} >= {"it1-A-1-1", "it1-T-2-2"}
    for child in children:  # the user's network, 16x16 grey images of 2 classes
        depths = tuple(int(m) for m in child.data.params["depths"].split("-"))
        model = build_model(
            ArchSpec(depths=depths, module="user_plugins:PLAIN", in_channels=1, image_size=16, num_classes=2)
        )
        assert child.data.metrics["params"] == count_parameters(model)
        # the user's criterion scored the stages: 0.25 for every feature, so 0.25 per stage
        assert [child.data.metrics[f"importance/s{i}"] for i in (1, 2)] == [0.25, 0.25]
