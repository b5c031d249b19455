"""The same command on a real 2-node Ray cluster through ``ray job submit``, tracked by a real MLflow
server.  Both nodes run on this machine with one CPU each, so A and T of an iteration must run on
different nodes.  The nodes run under ``ray start --block`` in their own process groups, so the
teardown stops exactly this cluster (``ray stop`` would also stop the suite's own Ray instance)."""

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from process_group import free_port
from ray._common.utils import get_ray_address_file

from nas_service.tracking.tags import NODE_ID_TAG, PARENT_RUN_ID_TAG, WORKER_NODE_IDS_TAG
from trainables.datasets import load_dataset
from trainables.datasets.mapped import write_mapped

BIN = Path(sys.executable).parent


def wait_for(check, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{what} not ready after {timeout_s} s")


def http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as response:
        return response.status == 200


def start(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        command, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
    )


def stop_all(processes: list[subprocess.Popen]) -> None:
    """SIGTERM every process group at once (each node takes seconds to shut down), then wait;
    a group still there after 3 s (`ray start --block` often is) is killed whole."""
    running = [process for process in processes if process.poll() is None]
    for process in running:
        os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 3
    for process in running:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A head and a worker node (1 CPU each, custom resources) and an MLflow server, shared by
    this module's tests (each in its own MLflow experiment and storage folder)."""
    tmp_path = tmp_path_factory.mktemp("cluster")
    env = {
        **os.environ,
        "RAY_AUTH_MODE": "disabled",
        "RAY_USAGE_STATS_ENABLED": "0",
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
    }
    env.pop("RAY_ADDRESS", None)
    gcs_port, dashboard_port, mlflow_port = free_port(), free_port(), free_port()

    def own_ports() -> list[str]:
        """Each node's agents on free ports: the defaults (52365, ...) may belong to another Ray
        instance on this machine, and then the job agent never comes up."""
        return [
            f"--{name}={free_port()}"
            for name in (
                "dashboard-agent-listen-port",
                "dashboard-agent-grpc-port",
                "runtime-env-agent-port",
                "metrics-export-port",
            )
        ]

    processes = []
    try:
        processes.append(
            start(
                [
                    str(BIN / "ray"),
                    "start",
                    "--head",
                    "--block",
                    f"--port={gcs_port}",
                    "--num-cpus=1",
                    '--resources={"head": 1}',
                    "--dashboard-host=127.0.0.1",
                    f"--dashboard-port={dashboard_port}",
                    "--include-dashboard=true",
                    *own_ports(),
                ],
                env,
                tmp_path / "head.log",
            )
        )
        dashboard = f"http://127.0.0.1:{dashboard_port}"
        wait_for(lambda: http_ok(f"{dashboard}/api/version"), 90, "Ray head")
        processes.append(
            start(
                [
                    str(BIN / "ray"),
                    "start",
                    "--block",
                    f"--address=127.0.0.1:{gcs_port}",
                    "--num-cpus=1",
                    '--resources={"worker": 1}',
                    *own_ports(),
                ],
                env,
                tmp_path / "worker.log",
            )
        )
        processes.append(
            start(
                [
                    sys.executable,
                    "-m",
                    "mlflow",
                    "server",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(mlflow_port),
                    "--backend-store-uri",
                    f"sqlite:///{tmp_path / 'server.db'}",
                    "--artifacts-destination",
                    str(tmp_path / "artifacts"),
                ],
                env,
                tmp_path / "mlflow.log",
            )
        )
        tracking = f"http://127.0.0.1:{mlflow_port}"
        # its 4 workers take over a minute to answer on a busy 2-core machine
        wait_for(lambda: http_ok(f"{tracking}/health"), 180, "MLflow server")
        wait_for(
            lambda: (
                b"worker"
                in subprocess.run(
                    [str(BIN / "ray"), "status", f"--address=127.0.0.1:{gcs_port}"],
                    env=env,
                    capture_output=True,
                    timeout=30,
                ).stdout
            ),
            90,
            "Ray worker node",
        )
        yield {"dashboard": dashboard, "tracking": tracking, "env": env}
    finally:
        stop_all(processes)
        forget_cluster(gcs_port)


def forget_cluster(gcs_port: int) -> None:
    """``ray start --head`` records its address for later bare ``ray.init()`` calls on this
    machine, and a killed head leaves the record: they would try to join the stopped cluster."""
    record = Path(get_ray_address_file(None))
    if record.is_file() and record.read_text().strip().endswith(f":{gcs_port}"):
        record.unlink()


def submit_job(cluster: dict, *arguments: str) -> subprocess.CompletedProcess:
    """``ray job submit`` to the cluster with ``arguments``; waits for the job's end."""
    submit = [str(BIN / "ray"), "job", "submit", "--address", cluster["dashboard"], *arguments]
    for _ in range(30):  # the dashboard answers a little before its job agent accepts jobs
        done = subprocess.run(submit, env=cluster["env"], capture_output=True, text=True, timeout=600)
        if "No available agent to submit job" not in done.stderr:
            return done
        time.sleep(2)
    return done


def test_job_submission_runs_trials_on_both_nodes(cluster, tmp_path):
    storage = tmp_path / "shared_storage"
    # No --working-dir here: with both nodes on one machine they share the session's
    # runtime_resources folder, and the worker's runtime-env agent deletes the head job's unpacked
    # working dir mid-run (the job then fails in os.getcwd()).  The package is installed instead.
    done = submit_job(
        cluster,
        "--",
        "python",
        "-m",
        "nas_service.run",
        "--iterations",
        "1",
        "--m0",
        "2",
        "--epochs",
        "3",
        "--scoring-samples",
        "200",
        "--tracking-uri",
        cluster["tracking"],
        "--storage-path",
        str(storage),
        "--experiment",
        "cluster",
        "--name",
        "on-two-nodes",
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Found architecture" in done.stdout

    client = MlflowClient(cluster["tracking"])
    experiment = client.get_experiment_by_name("cluster")
    runs = client.search_runs([experiment.experiment_id])
    (parent,) = [r for r in runs if PARENT_RUN_ID_TAG not in r.data.tags]
    children = [r for r in runs if r.data.tags.get(PARENT_RUN_ID_TAG) == parent.info.run_id]
    assert parent.info.status == "FINISHED" and len(children) >= 2
    assert {r.data.params["role"] for r in children} >= {"A", "T"}
    assert len({r.data.tags[NODE_ID_TAG] for r in children}) == 2  # both nodes trained
    for child in children:
        assert child.info.status == "FINISHED"
        names = {a.path for a in client.list_artifacts(child.info.run_id)}
        assert {"architecture.json", "checkpoint.pt"} <= names
    assert "report.md" in {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert (storage / "on-two-nodes" / "candidates.csv").exists()


def test_a_job_is_refused_where_ray_deletes_its_results(cluster, tmp_path):
    """``--working-dir`` makes the job run in Ray's copy of that folder, which Ray deletes (see
    above): a search whose results and MLflow store would default to it is refused in one line
    before Ray or MLflow start (tests/unit/test_config.py has the other paths refused there)."""
    files = tmp_path / "job_files"
    files.mkdir()
    (files / "search.yaml").write_text("iterations: 1\n")
    done = submit_job(
        cluster,
        "--working-dir",
        str(files),
        "--",
        "python",
        "-m",
        "nas_service.run",
        "--config",
        "search.yaml",
    )
    assert done.returncode != 0
    copy = re.search(
        r"--storage-path (\S+)/nas_results: inside (\S+), Ray's temporary copy of "
        r"this job's --working-dir",
        done.stdout,
    )
    assert copy and copy[1] == copy[2] and "runtime_resources" in copy[1], done.stdout[-3000:]
    assert "Traceback" not in done.stdout and "MLflow parent run" not in done.stdout


def ray_worker_pids() -> list[int]:
    """The processes of this machine's Ray Train workers (their title names the actor)."""
    listing = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True).stdout
    return [
        int(line.split(None, 1)[0])
        for line in listing.splitlines()
        if "RayTrainWorker" in line and "ps -eo" not in line
    ]


def test_a_data_parallel_candidate_trains_on_both_nodes_and_resumes_after_a_killed_worker(cluster, tmp_path):
    """2 workers of 1 CPU: one on each node, each memory-mapping the data set from the shared
    storage (a prepared folder).  One is killed once the trial has reported an epoch; Ray Train
    starts the worker group again from the last checkpoint."""
    epochs = 6
    shared = tmp_path / "shared_storage"
    shared.mkdir()
    prepared = write_mapped(load_dataset("digits", seed=0), shared / "digits", {"dataset": "digits"})
    submit = [
        str(BIN / "ray"),
        "job",
        "submit",
        "--address",
        cluster["dashboard"],
        "--",
        "python",
        "-m",
        "nas_service",
        "train",
        "--depths",
        "2-2-2",
        "--epochs",
        str(epochs),
        "--workers-per-trial",
        "2",
        "--dataset",
        "mapped",
        "--data-dir",
        str(prepared),
        "--tracking-uri",
        cluster["tracking"],
        "--storage-path",
        str(shared),
        "--experiment",
        "ddp",
        "--name",
        "two-workers",
    ]
    job = subprocess.Popen(
        submit, env=cluster["env"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    client = MlflowClient(cluster["tracking"])

    def trained_an_epoch() -> bool:
        experiment = client.get_experiment_by_name("ddp")
        runs = client.search_runs([experiment.experiment_id]) if experiment else []
        return any(r.data.metrics.get("epoch", 0) >= 2 for r in runs) and len(ray_worker_pids()) == 2

    wait_for(trained_an_epoch, 300, "an epoch of the data-parallel trial")
    killed = ray_worker_pids()[-1]
    os.kill(killed, signal.SIGKILL)
    output, _ = job.communicate(timeout=600)
    assert job.returncode == 0, output[-4000:]
    assert "trained 2-2-2" in output
    assert f"every trial memory-maps the data set from {prepared}" in output

    experiment = client.get_experiment_by_name("ddp")
    (child,) = [r for r in client.search_runs([experiment.experiment_id]) if PARENT_RUN_ID_TAG in r.data.tags]
    assert child.info.status == "FINISHED"
    metrics, tags = child.data.metrics, child.data.tags
    # resumed from an epoch's checkpoint, not from scratch, and finished every epoch
    assert 2 <= metrics["resumed_at_epoch"] < epochs and metrics["epoch"] == epochs
    assert [m.step for m in client.get_metric_history(child.info.run_id, "epoch")] == list(
        range(1, epochs + 1)
    )
    # reported like a one-process candidate (test_data_parallel_trial compares the keys)
    assert {"test_accuracy", "val_accuracy", "cpu_latency_ms", "energy_kwh", "train_seconds"} <= set(metrics)
    assert tags["nas.train.workers"] == "2"
    assert len(set(tags[WORKER_NODE_IDS_TAG].split(","))) == 2  # a worker on each node
    names = {a.path for a in client.list_artifacts(child.info.run_id)}
    assert {"architecture.json", "checkpoint.pt"} <= names
