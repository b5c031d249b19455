"""Searches in which no stage grows, through the CLI's ``main`` in the test session's Ray:
retrained under ``retrain``, converged under ``stop``, and in neither an iteration that did not
run is shown."""

import csv
import re
from pathlib import Path
from types import SimpleNamespace

from mlflow.tracking import MlflowClient

from nas_service.cli.run import main
from nas_service.tracking.tags import CONVERGED_AFTER_TAG, PARENT_RUN_ID_TAG


def run_search(folder: Path, capsys, policy: str, *flags: str) -> tuple[SimpleNamespace, MlflowClient]:
    """``python -m nas_service.run`` with a criterion that scores A and T alike (workers import
    ``criteria_stubs`` from tests/, which conftest puts on their path)."""
    code = main(
        [
            "--iterations",
            "2",
            "--m0",
            "1",
            "--epochs",
            "1",
            "--scoring-samples",
            "200",
            "--bootstrap",
            "10",
            "--criterion",
            "criteria_stubs:tie",
            "--on-no-growth",
            policy,
            "--name",
            policy,
            *flags,
        ]
    )
    done = SimpleNamespace(stdout=capsys.readouterr().out)
    assert code == 0, done.stdout[-3000:]
    return done, MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")


def children(client: MlflowClient, name: str):
    experiment = client.get_experiment_by_name("stagewise-nas")
    (parent,) = client.search_runs([experiment.experiment_id], f"attributes.run_name = '{name}'")
    runs = client.search_runs(
        [experiment.experiment_id], f"tags.`{PARENT_RUN_ID_TAG}` = '{parent.info.run_id}'"
    )
    return parent, {run.info.run_name: run for run in runs}


def test_no_growth_retrains_under_retrain_and_converges_under_stop(
    ray_session, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    done, client = run_search(tmp_path, capsys, "retrain")
    parent, runs = children(client, "retrain")
    # iteration 2 trained A and T again, as new runs with a new initialisation seed
    assert sorted(runs) == ["it1-A-1-1-1", "it1-T-3-3-3", "it2-A-1-1-1", "it2-T-3-3-3"]
    assert {name: run.data.params["init_seed"] for name, run in runs.items()} == {
        "it1-A-1-1-1": "0",
        "it1-T-3-3-3": "0",
        "it2-A-1-1-1": "1",
        "it2-T-3-3-3": "1",
    }
    assert all(run.info.status == "FINISHED" for run in runs.values())
    # the networks differ (another initialisation), the tie criterion scores them alike
    assert (
        runs["it1-A-1-1-1"].data.metrics["val_accuracy"] != runs["it2-A-1-1-1"].data.metrics["val_accuracy"]
    )
    lines = re.findall(r"^iteration \d.*$", done.stdout, re.M)
    assert len(lines) == 2 and all("P(T beats A) per stage 0.50, 0.50, 0.50" in line for line in lines)
    # on the console, both networks' finished lines come before the decision taken on them
    console = [line for line in done.stdout.splitlines() if line.startswith("[nas] ")]
    for k in (1, 2):
        decision = [i for i, line in enumerate(console) if line.startswith(f"[nas] iteration {k}:")]
        trained = [
            i
            for i, line in enumerate(console)
            if re.match(rf"\[nas\] it{k}-[AT]-1-1-1|\[nas\] it{k}-T-3-3-3", line)
            and " after 1 epochs" in line
        ]
        assert len(decision) == 1 and len(trained) == 2 and max(trained) < decision[0], console
    assert "1-1-1 (no stage grew: next iteration retrains" in lines[0]
    assert "reused" not in lines[0] + lines[1]
    assert "the found network 1-1-1 is it2-A-1-1-1, reused" in done.stdout
    assert CONVERGED_AFTER_TAG not in parent.data.tags
    assert parent.data.tags["nas.final_run_id"] == runs["it2-A-1-1-1"].info.run_id
    history = client.get_metric_history(parent.info.run_id, "confidence/s1")
    assert [(m.step, m.value) for m in history] == [(1, 0.5), (2, 0.5)]
    report = (tmp_path / "nas_results" / "retrain" / "report" / "report.md").read_text()
    assert len(re.findall(r"^\| [12] \| [01] \| 1-1-1 \| 3-3-3 \|", report, re.M)) == 2
    assert "run `it2-A-1-1-1`" in report

    # the same, trained as the authors did: on the whole training split, no validation
    done, client = run_search(tmp_path, capsys, "stop", "--val-fraction", "0")
    parent, runs = children(client, "stop")
    assert "digits: 1x8x8, 10 classes, train 1438, val 0, test 359" in done.stdout
    assert all(
        "val_accuracy" not in run.data.metrics and run.data.metrics["images_seen"] == 1438
        for run in runs.values()
    )
    assert sorted(runs) == ["it1-A-1-1-1", "it1-T-3-3-3"]  # nothing after iteration 1
    assert parent.data.tags[CONVERGED_AFTER_TAG] == "1"
    assert parent.data.tags["nas.converged_reason"] == "no stage grew"
    assert re.findall(r"^iteration \d", done.stdout, re.M) == ["iteration 1"]
    assert "converged after iteration 1: no stage grew" in done.stdout
    assert "the found network 1-1-1 is it1-A-1-1-1, reused" in done.stdout
    report = (tmp_path / "nas_results" / "stop" / "report" / "report.md").read_text()
    assert "converged after iteration 1: no stage grew" in report
    assert not re.search(r"^\| 2 \|", report, re.M)
    with open(tmp_path / "nas_results" / "stop" / "candidates.csv") as handle:
        assert [row["run_name"] for row in csv.DictReader(handle)] == ["it1-A-1-1-1", "it1-T-3-3-3"]
