"""Commands that read a search from MLflow (report, ensemble, export, --resume) check the store and
the run first: one line naming the bad value, exit status 2, and no store created where none was."""

import pytest
from mlflow.tracking import MlflowClient

from nas_service.cli import ensemble, export, report
from nas_service.cli.run import main as run_main
from nas_service.tracking.records import start_parent_run
from nas_service.tracking.tags import PARENT_RUN_ID_TAG


@pytest.fixture
def store(tmp_path):
    """A stage-wise parent with one candidate, a random-search parent and an unrelated run."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    parent = start_parent_run(client, "stagewise-nas", "search", "stagewise", {})
    baseline = start_parent_run(client, "stagewise-nas", "random", "random", {})
    experiment = client.get_run(parent).info.experiment_id
    child = client.create_run(
        experiment, run_name="it1-A-1-1-1", tags={PARENT_RUN_ID_TAG: parent}
    ).info.run_id
    other = client.create_run(experiment, run_name="notebook").info.run_id
    return {"uri": uri, "parent": parent, "baseline": baseline, "child": child, "other": other}


def test_report_refuses_runs_that_are_not_a_stage_wise_search(store, capsys):
    cases = {
        store["child"]: f"its search's parent run is {store['parent']}",
        store["other"]: "not the parent run of a search",
        store["baseline"]: "a random search; reports are written for stage-wise searches",
        "f" * 32: "no such MLflow run in this store",
    }
    for run_id, fragment in cases.items():
        assert report.main(["--run-id", run_id, "--tracking-uri", store["uri"]]) == 2
        assert fragment in capsys.readouterr().err
    client = MlflowClient(store["uri"])
    assert not client.list_artifacts(store["child"])  # nothing logged into the wrong run


def test_ensemble_and_export_name_the_bad_run(store, tmp_path, capsys):
    assert ensemble.main(["--run-id", store["child"], "--tracking-uri", store["uri"]]) == 2
    assert f"its search's parent run is {store['parent']}" in capsys.readouterr().err
    assert ensemble.main(["--run-id", "nosuchrun", "--tracking-uri", store["uri"]]) == 2
    assert "--run-id 'nosuchrun': no such MLflow run" in capsys.readouterr().err
    assert export.main(["--run-id", store["parent"], "--format", "pt2", "--tracking-uri", store["uri"]]) == 2
    assert "this search has no found network (it did not finish)" in capsys.readouterr().err
    assert (
        export.main(
            [
                "--run-id",
                store["child"],
                "--format",
                "pt2",
                "--output",
                str(tmp_path / "net.pt2"),
                "--tracking-uri",
                store["uri"],
            ]
        )
        == 2
    )
    assert (
        f"--run-id {store['child']}: it1-A-1-1-1 has not finished training (status RUNNING)"
        in capsys.readouterr().err
    )
    missing = tmp_path / "missing" / "net.pt2"
    assert (
        export.main(
            [
                "--run-id",
                store["child"],
                "--format",
                "pt2",
                "--output",
                str(missing),
                "--tracking-uri",
                store["uri"],
            ]
        )
        == 2
    )
    assert f"--output {missing}: folder {missing.parent} does not exist" in capsys.readouterr().err


def test_a_missing_store_is_named_and_not_created(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    commands = [
        (report.main, ["--run-id", "abc"]),
        (ensemble.main, ["--run-id", "abc"]),
        (export.main, ["--run-id", "abc", "--format", "pt2"]),
    ]
    for command, argv in commands:
        assert command([*argv, "--tracking-uri", uri]) == 2
        assert f"--tracking-uri '{uri}': no MLflow store there" in capsys.readouterr().err
    (tmp_path / "nas_results" / "search").mkdir(parents=True)
    assert run_main(["--resume", "--name", "search", "--tracking-uri", uri]) == 2
    assert "no MLflow store there" in capsys.readouterr().err
    assert run_main(["--resume", "--name", "nosuch"]) == 2
    assert "--resume --name nosuch: no search of that name in" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nas_results"]


def test_a_search_into_a_deleted_experiment_is_refused_before_training(store, tmp_path, monkeypatch, capsys):
    client = MlflowClient(store["uri"])
    experiment = client.get_experiment_by_name("stagewise-nas").experiment_id
    client.delete_experiment(experiment)
    monkeypatch.chdir(tmp_path)
    assert run_main(["--tracking-uri", store["uri"], "--name", "s"]) == 2
    err = capsys.readouterr().err
    assert (
        f"--experiment 'stagewise-nas': deleted in MLflow; restore it with `mlflow experiments "
        f"restore --experiment-id {experiment}`"
    ) in err
    assert not (tmp_path / "nas_results").exists()


def test_report_of_a_search_still_running_or_interrupted_says_so(store, tmp_path, capsys):
    client = MlflowClient(store["uri"])
    child = store["child"]  # still training: one epoch logged, no test accuracy nor latency yet
    for key, value in {"role": "A", "iteration": "1", "depths": "1-1-1"}.items():
        client.log_param(child, key, value)
    client.log_metric(child, "val_accuracy", 0.41, step=1)
    output = tmp_path / "report"
    assert (
        report.main(["--run-id", store["parent"], "--tracking-uri", store["uri"], "--output", str(output)])
        == 0
    )
    err = capsys.readouterr().err.strip()
    assert err == (
        "stagewise-nas report: note: search search is still running: this "
        "report holds the networks finished so far; the decisions and the found "
        "network come when the search ends"
    )
    markdown = (output / "report.md").read_text()
    assert "Networks finished: 0 of the 1 started." in markdown and "it1-A-1-1-1" not in markdown
    assert not client.list_artifacts(store["parent"])  # the search writes its own at its end

    for key, value in {
        "depth": 8,
        "params": 78000,
        "macs": 3.1e6,
        "memory_mb": 0.31,
        "cpu_latency_ms": 1.5,
        "train_seconds": 4.0,
        "emissions_kg": 1e-6,
        "test_accuracy": 0.4,
    }.items():
        client.log_metric(child, key, value)
    client.set_terminated(child, "FINISHED")
    client.set_terminated(store["parent"], "KILLED")
    assert (
        report.main(["--run-id", store["parent"], "--tracking-uri", store["uri"], "--output", str(output)])
        == 0
    )
    assert "did not finish (MLflow status KILLED)" in capsys.readouterr().err
    markdown = (output / "report.md").read_text()
    assert "Networks finished: 1 of the 1 started." in markdown
    assert "| it1-A-1-1-1 | 1-1-1 | 8 | 0.078 | 3.1 |" in markdown
    assert "stagewise-nas run --resume --name search continues it" in markdown


def test_a_second_search_of_one_name_in_an_experiment_is_refused_wherever_it_is_stored(
    store, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    assert (
        run_main(
            [
                "--name",
                "search",
                "--tracking-uri",
                store["uri"],
                "--storage-path",
                str(tmp_path / "elsewhere"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err.strip()
    assert err.endswith(
        f"--name 'search': experiment 'stagewise-nas' already holds a search of "
        f"that name (MLflow run {store['parent']}); choose another --name, or "
        "continue that one with --resume"
    ), err
    assert len(err.splitlines()) == 1 and not (tmp_path / "elsewhere").exists()
    client = MlflowClient(store["uri"])
    experiment = client.get_experiment_by_name("stagewise-nas")
    assert len(client.search_runs([experiment.experiment_id], "attributes.run_name = 'search'")) == 1
