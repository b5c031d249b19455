"""SIGTERM (``docker stop``, Kubernetes, Slurm, ``timeout``) and SIGHUP stop a search as Ctrl-C
does: Tune saves its state, the parent run ends KILLED, no child stays RUNNING, and the printed
command, run as printed, finishes the search."""

import os
import shlex
import signal
import subprocess
import sys
import textwrap
import time

from mlflow.tracking import MlflowClient
from test_resume import children, epoch_times, wait_for

from nas_service.cli.baselines import main as baselines_main

EPOCHS = 2
SAMPLES = 1


def session_processes(session: int) -> list[str]:
    """``pid command`` of each process still running in session ``session``."""
    listing = subprocess.run(
        ["ps", "-eo", "pid=,sid=,stat=,comm="], capture_output=True, text=True, check=True
    ).stdout
    return [
        line
        for line in listing.splitlines()
        if int(line.split()[1]) == session and not line.split()[2].startswith("Z")
    ]


def wait_until(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


def test_sigterm_stops_a_baseline_that_its_printed_command_resumes(
    ray_session, tmp_path, monkeypatch, capsys
):
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    name = "terminated"
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nas_service",
            "baselines",
            "--method",
            "random",
            "--samples",
            str(SAMPLES),
            "--epochs",
            str(EPOCHS),
            "--m0",
            "1",
            "--max-train-images",
            "400",
            "--name",
            name,
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    wait_for(
        client,
        name,
        process,
        lambda finished, running: any(r.data.metrics.get("epoch") == 1 for r in running),
    )
    # to the whole process group, as timeout, scancel and systemd send it: it reaches the driver
    # and, but for the groups of their own it starts them in, its local Ray cluster
    started = time.monotonic()
    os.killpg(process.pid, signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM, _ + stderr[-3000:]
    assert time.monotonic() - started < 40  # not Ray's 60 s wait for a GCS killed too
    assert "Failed to connect to GCS" not in stderr
    assert wait_until(lambda: not session_processes(process.pid), 20), session_processes(
        process.pid
    )  # no process of the search's cluster outlives it
    assert "SIGTERM received" not in stderr and "Traceback" not in stderr  # no stack dump
    message = stderr.strip().splitlines()[-1]
    assert "search interrupted (SIGTERM)" in message, message
    parent, runs = children(client, name)
    assert parent.info.status == "KILLED"
    assert runs and all(r.info.status != "RUNNING" for r in runs)

    command = shlex.split(message.split("Resume with: ")[1])
    assert command[:2] == ["stagewise-nas", "baselines"]
    # the printed flags as printed, through the module's main in the session's Ray (a second
    # process would spend 20 s starting its own)
    monkeypatch.chdir(tmp_path)
    assert baselines_main(command[2:]) == 0, capsys.readouterr().err[-3000:]
    parent, runs = children(client, name)
    assert parent.info.status == "FINISHED"
    assert len(runs) == SAMPLES and all(r.info.status == "FINISHED" for r in runs)
    for run in runs:  # the interrupted trial went on from its checkpoint: each epoch logged once
        assert sorted(step for step, _ in epoch_times(client, run)) == [1, 2]


def test_a_stopped_workers_exit_request_prints_no_stack_but_other_ignored_errors_do():
    # a weakref callback is where Ray's SIGTERM handler's SystemExit cannot be raised
    script = textwrap.dedent("""
        import weakref
        from trainables.worker_process import quiet_exit_requests
        class Thing: pass
        def stopping(_): raise SystemExit(1)
        def broken(_): raise ValueError("a real bug")
        quiet_exit_requests(); quiet_exit_requests()
        first, second = Thing(), Thing()
        refs = [weakref.ref(first, stopping), weakref.ref(second, broken)]
        del first, second
        print("went on")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stdout == "went on\n"
    assert "SystemExit" not in done.stderr
    assert done.stderr.count("Traceback") == 1 and "ValueError: a real bug" in done.stderr
