"""A new sqlite store built aside while Ray starts, then moved into place or discarded."""

import sqlite3

from mlflow.tracking import MlflowClient

from nas_service.tracking.new_store import build_aside, discard, move_into_place
from nas_service.tracking.records import artifact_location, experiment_id


def tables(path):
    with sqlite3.connect(path) as connection:
        return {row[0] for row in connection.execute("select name from sqlite_master where type = 'table'")}


def test_a_store_built_aside_becomes_the_store(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    aside = build_aside(uri)
    assert aside.parent == tmp_path and aside.name.startswith(".mlflow.db.")
    assert not (tmp_path / "mlflow.db").exists()
    assert {"experiments", "runs", "metrics", "alembic_version"} <= tables(aside)
    move_into_place(aside, uri)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mlflow.db"]
    client = MlflowClient(uri)
    run = client.create_run(client.create_experiment("x"))
    assert client.get_run(run.info.run_id).info.status == "RUNNING"
    assert build_aside(uri) is None  # it exists now: nothing to build


def test_a_store_that_appeared_meanwhile_is_kept(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    aside = build_aside(uri)
    MlflowClient(uri).create_experiment("theirs")  # another search created it first
    move_into_place(aside, uri)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mlflow.db"]
    assert MlflowClient(uri).get_experiment_by_name("theirs") is not None


def test_nothing_is_built_for_a_server_or_where_nothing_can_be_written(tmp_path):
    assert build_aside("http://127.0.0.1:5000") is None
    (tmp_path / "file").write_text("not a folder")
    assert build_aside(f"sqlite:///{tmp_path / 'file' / 'mlflow.db'}") is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]
    aside = tmp_path / ".mlflow.db.1.new"
    aside.write_bytes(b"")
    discard(aside)
    discard(None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_a_sqlite_stores_artifacts_stay_beside_its_file_wherever_the_search_starts(tmp_path, monkeypatch):
    """MLflow's default puts a new experiment's artifacts in ``./mlruns`` of the working
    directory; ours beside the database, under the experiment's name made a folder name."""
    store, elsewhere = tmp_path / "store", tmp_path / "elsewhere"
    store.mkdir()
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    client = MlflowClient(f"sqlite:///{store / 'mlflow.db'}")
    experiment = experiment_id(client, "my search/1")
    run = client.create_run(experiment)
    client.log_text(run.info.run_id, "found 3-3-5", "decision.txt")
    assert (
        store / "mlruns" / "my_search_1" / run.info.run_id / "artifacts" / "decision.txt"
    ).read_text() == "found 3-3-5"
    assert list(elsewhere.iterdir()) == []
    assert experiment_id(client, "my search/1") == experiment  # found, not created again
    # a relative sqlite path is the working directory's file, its artifacts beside it
    assert artifact_location("sqlite:///mlflow.db", "x") == str(elsewhere / "mlruns" / "x")
    for server_or_other in (
        "http://127.0.0.1:5000",
        "postgresql://db/mlflow",
        "sqlite:///:memory:",
        str(tmp_path / "file_store"),
    ):
        assert artifact_location(server_or_other, "x") is None
