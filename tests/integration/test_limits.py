"""One real search for two protocol options: growth within a MAC limit (no candidate over it, the
decision the rule implies) and --final-epochs (every candidate's own run continues)."""

from mlflow.tracking import MlflowClient

from nas_service.cli.arguments import parse_config
from nas_service.limits import growth_costs
from nas_service.methods.stagewise import search
from nas_service.tracking.tags import PARENT_RUN_ID_TAG

LIMIT = 1.5e6  # on 8x8 digits: 1-1-1 has 0.76M MACs, one grown stage 1.35M, two 1.94M


def test_a_search_grows_within_max_macs_and_continues_its_candidates(
    ray_session, tmp_path, tracking_uri, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    config = parse_config(
        [
            "--iterations",
            "1",
            "--m0",
            "1",
            "--epochs",
            "1",
            "--max-macs",
            str(LIMIT),
            "--scoring-samples",
            "300",
            "--bootstrap",
            "10",
            "--final-epochs",
            "1",
            "--tracking-uri",
            tracking_uri,
            "--name",
            "limited",
        ]
    )
    record = search(config, config.load_data(), growth_costs(config, config.load_data()))
    (step,) = record["iterations"]
    wins = [t > a for a, t in zip(step["importance_A"], step["importance_T"], strict=True)]
    assert step["grows"] == wins
    grown = [stage for stage in range(3) if step["next"].split("-")[stage] == "3"]
    if sum(wins) >= 1:  # every stage adds the same MACs: the largest gain goes first, alone
        gains = [
            t - a if won else float("-inf")
            for a, t, won in zip(step["importance_A"], step["importance_T"], wins, strict=True)
        ]
        assert grown == [gains.index(max(gains))]
        assert step["held_back_by_limit"] == [i + 1 for i in range(3) if wins[i] and i not in grown]
        assert step["bound_by"] == (["macs"] if sum(wins) >= 2 else [])
    else:
        assert grown == []
    client = MlflowClient(tracking_uri)
    runs = client.search_runs(
        [client.get_experiment_by_name("stagewise-nas").experiment_id],
        f"tags.`{PARENT_RUN_ID_TAG}` = '{record['parent_run_id']}'",
    )
    candidates = [run for run in runs if run.data.params["role"] in ("A", "final")]
    assert candidates and all(run.data.metrics["macs"] <= LIMIT for run in candidates)
    (probe,) = [run for run in runs if run.data.params["role"] == "T"]
    assert probe.data.metrics["macs"] > LIMIT  # T stays the probe, over the limit

    # --final-epochs 1: each candidate's run (A, and the found network when it is another run)
    # has epochs 1 and 2 and a test accuracy after each; the probe T has one epoch; no new runs
    assert len({run.info.run_name for run in runs}) == len(runs)
    for run in candidates:
        for metric in ("val_accuracy", "test_accuracy", "images_seen"):
            history = client.get_metric_history(run.info.run_id, metric)
            assert sorted(m.step for m in history) == [1, 2], (run.info.run_name, metric)
        assert run.data.params["final_epochs"] == "1"
        assert run.data.metrics["epoch"] == 2 and run.info.status == "FINISHED"
    assert [m.step for m in client.get_metric_history(probe.info.run_id, "val_accuracy")] == [1]
    assert "final_epochs" not in probe.data.params
    found = next(run for run in runs if run.info.run_id == record["measures"]["mlflow_run_id"])
    assert record["measures"]["test_accuracy"] == found.data.metrics["test_accuracy"]
    table = (tmp_path / "nas_results" / "limited" / "candidates.csv").read_text().splitlines()
    assert len(table) == 1 + len(runs) + len(candidates)  # a second row per continued candidate
    report = (tmp_path / "nas_results" / "limited" / "report" / "report.md").read_text()
    assert "test acc at the search's epochs (%)" in report
