"""``--resume`` of a search that an older version saved is one line naming that version, before Ray
starts: Tune would fail deep inside unpickling a searcher whose layout changed."""

from __future__ import annotations

from mlflow.tracking import MlflowClient

from nas_service import SEARCH_STATE_FORMAT, __version__
from nas_service.cli.run import main as run_main
from nas_service.tracking.records import experiment_id, start_parent_run
from nas_service.tracking.tags import METHOD_TAG, STATE_FORMAT_TAG, VERSION_TAG


def saved_search_of(tmp_path, tags: dict[str, str]) -> list[str]:
    """A stage-wise search called ``old`` with a parent run of ``tags`` and a Tune folder."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    client.create_run(experiment_id(client, "stagewise-nas"), run_name="old", tags=tags)
    folder = tmp_path / "results" / "old"
    folder.mkdir(parents=True)
    (folder / "tuner.pkl").write_bytes(b"pickled by another version")
    return ["--resume", "--name", "old", "--tracking-uri", uri, "--storage-path", str(tmp_path / "results")]


def test_resume_of_a_search_saved_by_older_code_names_the_version(tmp_path, capsys):
    argv = saved_search_of(tmp_path, {METHOD_TAG: "stagewise"})  # as 0.1.0 wrote it
    assert run_main(argv) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "python -m nas_service.run: error: --resume --name old: saved by stagewise-nas 0.1.0 or "
        f"older, whose saved search state stagewise-nas {__version__} cannot read; finish it "
        "with the version that saved it, or start a new search"
    )

    later = tmp_path / "later"
    later.mkdir()
    argv = saved_search_of(
        later, {METHOD_TAG: "stagewise", VERSION_TAG: "9.1.0", STATE_FORMAT_TAG: str(SEARCH_STATE_FORMAT + 1)}
    )
    assert run_main(argv) == 2
    assert "saved by stagewise-nas 9.1.0, whose saved search state" in capsys.readouterr().err


def test_a_new_parent_run_records_the_version_and_state_format(tmp_path):
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    run_id = start_parent_run(client, "stagewise-nas", "new", "stagewise", {"iterations": 2})
    tags = client.get_run(run_id).data.tags
    assert (tags[VERSION_TAG], tags[STATE_FORMAT_TAG]) == (__version__, str(SEARCH_STATE_FORMAT))
