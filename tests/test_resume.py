"""A search interrupted by Ctrl-C or by killing its driver resumes with ``--resume`` and ends as an
undisturbed search with the same seed would, with one MLflow child run per candidate."""

import os
import signal
import subprocess
import sys
import time

import pytest
from mlflow.tracking import MlflowClient

from nas_service.config import parse_config
from nas_service.stagewise import search
from nas_service.tracking import PARENT_RUN_ID_TAG

EPOCHS = 4  # a trial spends several seconds mid-way, where the tests interrupt it
SEARCH = ["--iterations", "2", "--m0", "1", "--epochs", str(EPOCHS), "--scoring-samples", "200"]


@pytest.fixture(scope="module")
def undisturbed(ray_session, tmp_path_factory):
    folder = tmp_path_factory.mktemp("undisturbed")
    config = parse_config([*SEARCH, "--name", "undisturbed", "--storage-path", str(folder),
                           "--tracking-uri", f"sqlite:///{folder / 'mlflow.db'}"])
    return search(config)["depths"]


def start_search(folder, name: str, *extra: str) -> subprocess.Popen:
    """The CLI in its own session, so the test can kill it with everything it started."""
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    return subprocess.Popen([sys.executable, "-m", "nas_service.run", *SEARCH, "--name", name,
                             *extra], cwd=folder, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def children(client: MlflowClient, name: str):
    experiment = client.get_experiment_by_name("stagewise-nas")
    if experiment is None:
        return None, []
    runs = client.search_runs([experiment.experiment_id])
    parent = next((r for r in runs if r.info.run_name == name
                   and PARENT_RUN_ID_TAG not in r.data.tags), None)
    if parent is None:
        return None, []
    return parent, [r for r in runs if r.data.tags.get(PARENT_RUN_ID_TAG) == parent.info.run_id]


def wait_until_mid_trial(client: MlflowClient, name: str, process: subprocess.Popen) -> None:
    """Two candidates finished and another one part-way through its epochs."""
    deadline = time.time() + 300
    while time.time() < deadline:
        assert process.poll() is None, process.communicate()
        _, runs = children(client, name)
        finished = [r for r in runs if r.info.status == "FINISHED"]
        training = [r for r in runs if r.info.status == "RUNNING"
                    and 1 <= r.data.metrics.get("epoch", 0) < EPOCHS]
        if len(finished) >= 2 and training:
            return
        time.sleep(0.3)
    raise AssertionError("the search never reached a second candidate")


def resume(folder, name: str) -> str:
    done = subprocess.run([sys.executable, "-m", "nas_service.run", "--resume", "--name", name],
                          cwd=folder, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "RAY_AUTH_MODE": "disabled"})
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def assert_one_finished_run_per_candidate(client: MlflowClient, name: str) -> None:
    parent, runs = children(client, name)
    assert parent.info.status == "FINISHED"
    depths = [r.data.params["depths"] for r in runs]
    assert len(depths) == len(set(depths)), depths  # no candidate trained or logged twice
    assert all(r.info.status == "FINISHED" for r in runs)
    for run in runs:  # epochs logged once each, across the interruption
        steps = [m.step for m in client.get_metric_history(run.info.run_id, "epoch")]
        assert steps == list(range(1, EPOCHS + 1)), (run.info.run_name, steps)


def test_ctrl_c_stops_cleanly_and_resume_finishes_the_search(undisturbed, tmp_path):
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    process = start_search(tmp_path, "interrupted")
    wait_until_mid_trial(client, "interrupted", process)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr[-3000:]
    message = stderr.strip().splitlines()[-1]
    assert "search interrupted" in message and "--resume --name interrupted" in message
    parent, _ = children(client, "interrupted")
    assert parent.info.status == "KILLED"

    stdout = resume(tmp_path, "interrupted")
    assert f"Found architecture: {undisturbed} " in stdout
    assert_one_finished_run_per_candidate(client, "interrupted")


def test_a_killed_driver_resumes_without_retraining(undisturbed, tmp_path):
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    process = start_search(tmp_path, "killed")
    wait_until_mid_trial(client, "killed", process)
    _, before = children(client, "killed")
    finished_before = {r.data.params["depths"]: r.info.run_id for r in before
                       if r.info.status == "FINISHED"}
    os.killpg(process.pid, signal.SIGKILL)  # the driver and the local Ray it started
    process.wait()

    stdout = resume(tmp_path, "killed")
    assert f"Found architecture: {undisturbed} " in stdout
    assert_one_finished_run_per_candidate(client, "killed")
    _, after = children(client, "killed")
    # candidates finished before the kill keep their runs, untouched by the resumed search
    for run in after:
        if run.data.params["depths"] in finished_before:
            assert run.info.run_id == finished_before[run.data.params["depths"]]


def test_resume_of_an_unknown_search_is_a_clear_error(tmp_path):
    done = subprocess.run([sys.executable, "-m", "nas_service.run", "--resume", "--name", "nope"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "--resume --name nope: no stagewise search of that name" in done.stderr
