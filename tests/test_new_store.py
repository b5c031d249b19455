"""A new sqlite store built aside while Ray starts, then moved into place or discarded."""

import sqlite3

from mlflow.tracking import MlflowClient

from nas_service.new_store import build_aside, discard, move_into_place


def tables(path):
    with sqlite3.connect(path) as connection:
        return {row[0] for row in connection.execute("select name from sqlite_master "
                                                     "where type = 'table'")}


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
