"""A real, small comparison on digits: stage-wise, random search and ASHA at an equal budget."""

import pytest
from mlflow.tracking import MlflowClient

from nas_service.compare import parse_criteria
from nas_service.comparison import compare, compare_criteria
from nas_service.config import ConfigError, parse_config
from nas_service.stagewise import search
from nas_service.space import DepthSpace
from nas_service.tracking import METHOD_TAG, PARENT_RUN_ID_TAG

pytestmark = pytest.mark.integration


def test_space_holds_every_depth_stagewise_can_reach():
    space = DepthSpace.reachable_by_stagewise((6, 6, 6), delta=2, iterations=5)
    assert space.choices == [6, 8, 10, 12, 14, 16]
    assert space.contains((16, 6, 16)) and not space.contains((18, 6, 6))
    assert space.size == 6 ** 3


def test_equal_budget_comparison(ray_session, tmp_path, tracking_uri, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = parse_config(["--iterations", "1", "--m0", "2", "--epochs", "3", "--name", "cmp",
                           "--tracking-uri", tracking_uri, "--scoring-samples", "300"])
    summary = compare(config, [0])

    assert list(summary["method"]) == ["stagewise", "random", "asha"]
    budget = summary.loc[summary["method"] == "stagewise", "budget used (images)"].item()
    assert budget > 0
    assert (summary["budget used (images)"] <= budget).all()

    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name("stagewise-nas")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if PARENT_RUN_ID_TAG not in r.data.tags
               and r.data.tags.get(METHOD_TAG) in ("stagewise", "random", "asha")]
    assert sorted(r.data.tags[METHOD_TAG] for r in parents) == ["asha", "random", "stagewise"]
    for parent in parents:
        children = [r for r in runs if r.data.tags.get(PARENT_RUN_ID_TAG) == parent.info.run_id]
        assert children, parent.data.tags[METHOD_TAG]
        # within budget by the numbers each trial logged
        assert sum(c.data.metrics.get("images_seen", 0) for c in children) <= budget
        space = DepthSpace.reachable_by_stagewise((2, 2, 2), 2, 1)
        assert all(space.contains(tuple(map(int, c.data.params["depths"].split("-"))))
                   for c in children)
    comparison = [r for r in runs if r.data.tags.get(METHOD_TAG) == "comparison"]
    assert len(comparison) == 1
    artifacts = {a.path for a in client.list_artifacts(comparison[0].info.run_id)}
    assert {"comparison.md", "comparison.csv", "pareto.png"} <= artifacts


def test_a_budget_ends_stagewise_cleanly(ray_session, tmp_path, tracking_uri, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # 1078 training images: 3 epochs of A and T (6468 images) fit, iteration 2 does not.
    config = parse_config(["--iterations", "3", "--m0", "1", "--epochs", "3", "--name", "budget",
                           "--budget-images", "8000", "--tracking-uri", tracking_uri])
    record = search(config)
    assert record["stopped_by_budget"] and record["spent"]["images"] <= 8000
    assert len(record["iterations"]) == 1
    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name("stagewise-nas")
    parent, = client.search_runs([experiment.experiment_id], "attributes.run_name = 'budget'")
    assert parent.info.status == "FINISHED"


def test_criteria_comparison_runs_one_search_per_criterion(ray_session, tmp_path, tracking_uri,
                                                           monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = parse_config(["--iterations", "1", "--m0", "1", "--epochs", "2", "--name", "crit",
                           "--tracking-uri", tracking_uri, "--scoring-samples", "300"])
    table = compare_criteria(config, ["inffs", "ilfs"])

    # per criterion: iteration 1 is the start, iteration 2 the final architecture
    assert list(zip(table["criterion"], table["iteration"])) == [
        ("inffs", 1), ("inffs", 2), ("ilfs", 1), ("ilfs", 2)]
    assert (table.loc[table["iteration"] == 1, "depths"] == "1-1-1").all()
    assert (table["params (M)"] > 0).all() and table["val acc (%)"].between(0, 100).all()
    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name("stagewise-nas")
    parents = {r.info.run_name: r for r in client.search_runs([experiment.experiment_id])
               if r.data.tags.get(METHOD_TAG) == "stagewise"}
    assert parents["crit-inffs"].data.params["criterion"] == "inffs"
    assert parents["crit-ilfs"].data.params["criterion"] == "ilfs"
    for name in ("crit-inffs", "crit-ilfs"):  # the search really used its criterion's scores
        children = client.search_runs([experiment.experiment_id],
                                      f"tags.`{PARENT_RUN_ID_TAG}` = '{parents[name].info.run_id}'")
        scores = [c.data.metrics["importance/s1"] for c in children]
        assert all(0 <= score <= 99 for score in scores), scores
    assert (tmp_path / "nas_results" / "crit" / "criteria.md").exists()


@pytest.mark.parametrize("text", ["plsvip,gini", "plsvip,plsvip", ""])
def test_bad_criteria_lists_name_the_flag(text):
    with pytest.raises(ConfigError, match="--criteria"):
        parse_criteria(text)
