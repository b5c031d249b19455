"""A search interrupted by Ctrl-C and by killing its driver resumes with ``--resume`` and ends with
the decisions its candidates' scores give, with one MLflow child run per candidate.  (That a
resumed trial trains exactly as an undisturbed one, bit for bit, is
tests/integration/test_trial_resume.py.)"""

import os
import signal
import subprocess
import sys
import time

from mlflow.tracking import MlflowClient
from test_search_integration import expected_trajectory

from nas_service.cli.run import main as run_main
from nas_service.tracking.tags import PARENT_RUN_ID_TAG
from trainables.spec import format_depths, parse_depths

EPOCHS = 4  # a trial spends several seconds mid-way, where the tests interrupt it
SEARCH = ["--iterations", "2", "--m0", "1", "--epochs", str(EPOCHS), "--scoring-samples", "200"]


def start(folder, *argv: str) -> subprocess.Popen:
    """The CLI in its own session, so the test can kill it with everything it started."""
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    return subprocess.Popen(
        [sys.executable, "-m", "nas_service.run", *argv],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def children(client: MlflowClient, name: str):
    experiment = client.get_experiment_by_name("stagewise-nas")
    if experiment is None:
        return None, []
    runs = client.search_runs([experiment.experiment_id])
    parent = next((r for r in runs if r.info.run_name == name and PARENT_RUN_ID_TAG not in r.data.tags), None)
    if parent is None:
        return None, []
    return parent, [r for r in runs if r.data.tags.get(PARENT_RUN_ID_TAG) == parent.info.run_id]


def wait_for(client: MlflowClient, name: str, process: subprocess.Popen, ready) -> None:
    """Until ``ready(finished runs, running runs)``; the process must not end before."""
    deadline = time.time() + 300
    while time.time() < deadline:
        assert process.poll() is None, process.communicate()
        _, runs = children(client, name)
        if ready(
            [r for r in runs if r.info.status == "FINISHED"], [r for r in runs if r.info.status == "RUNNING"]
        ):
            return
        time.sleep(0.3)
    raise AssertionError("the search never got there")


def epoch_times(client: MlflowClient, run) -> list[tuple[int, int]]:
    """(epoch, when it was logged in ms) of a run."""
    return [(m.step, m.timestamp) for m in client.get_metric_history(run.info.run_id, "epoch")]


def assert_one_finished_run_per_candidate(client: MlflowClient, name: str) -> None:
    parent, runs = children(client, name)
    assert parent.info.status == "FINISHED"
    networks = [(r.data.params["depths"], r.data.params["init_seed"]) for r in runs]
    assert len(networks) == len(set(networks)), networks  # none trained or logged twice
    assert all(r.info.status == "FINISHED" for r in runs)
    for run in runs:  # epochs logged once each, across both interruptions
        steps = [step for step, _ in epoch_times(client, run)]
        assert sorted(steps) == list(range(1, EPOCHS + 1)), (run.info.run_name, steps)


def test_ctrl_c_then_a_killed_driver_and_resume_finish_the_search(ray_session, tmp_path, monkeypatch, capsys):
    """Ctrl-C while a candidate is part-way through its epochs; resumed, that candidate goes on from its
    checkpoint and the resumed driver is SIGKILLed (with its local Ray) part-way through it; a
    second resume ends the search with every candidate trained and logged once, the decisions
    those candidates' scores give, and the runs finished before the kill untouched."""
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    name = "interrupted"
    process = start(tmp_path, *SEARCH, "--name", name)
    # mid-way through a candidate of iteration 2: an epoch of these networks takes under a second,
    # so waiting for exactly epoch 1 could miss it between two polls
    wait_for(
        client,
        name,
        process,
        lambda finished, running: (
            len(finished) >= 2 and any(1 <= r.data.metrics.get("epoch", 0) < EPOCHS for r in running)
        ),
    )
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr[-3000:]
    message = stderr.strip().splitlines()[-1]
    assert "search interrupted" in message and "--resume --name interrupted" in message
    parent, _ = children(client, name)
    assert parent.info.status == "KILLED"

    resumed_at = int(time.time() * 1000)
    process = start(tmp_path, "--resume", "--name", name)
    wait_for(
        client,
        name,
        process,
        lambda finished, running: any(
            when > resumed_at and step < EPOCHS for r in running for step, when in epoch_times(client, r)
        ),
    )
    _, before = children(client, name)
    finished_before = {r.info.run_name: r.info.run_id for r in before if r.info.status == "FINISHED"}
    os.killpg(process.pid, signal.SIGKILL)  # the driver and the local Ray it started
    process.wait()

    # the last resume in the session's Ray, through the CLI's main (a process would spend 20 s
    # starting its own Ray)
    monkeypatch.chdir(tmp_path)
    code = run_main(["--resume", "--name", name])
    done = capsys.readouterr()
    assert code == 0, done.err[-3000:]
    assert_one_finished_run_per_candidate(client, name)
    _, after = children(client, name)
    for run in after:
        if run.info.run_name in finished_before:
            assert run.info.run_id == finished_before[run.info.run_name]
    # the search took the decisions its candidates' recorded scores give
    importance_of = {
        (parse_depths(r.data.params["depths"]), int(r.data.params["init_seed"])): [
            r.data.metrics[f"importance/s{i}"] for i in (1, 2, 3)
        ]
        for r in after
    }
    roles, final = expected_trajectory((1, 1, 1), 2, 2, importance_of)  # basic: delta 2
    assert {
        (parse_depths(r.data.params["depths"]), int(r.data.params["init_seed"])): r.data.params["role"]
        for r in after
    } == roles
    assert f"Found architecture: {format_depths(final)} " in done.out
