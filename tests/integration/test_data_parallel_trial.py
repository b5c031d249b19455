"""A candidate's whole training run (``train_network``) on two ranks of a real gloo process group,
beside the same run in one process: the same reports, every epoch, from both ranks; the stage
scores, test and latency computed once, by rank 0, which alone writes the checkpoint.  The ranks
are two spawned processes joined to the session's Ray (for the data set in its object store);
Ray Train's part (its workers on both nodes, the relay to Tune, a killed worker) is
tests/cluster/test_cluster.py's, and ``latest_checkpoint`` on its own
tests/unit/test_trial_checkpoints.py's."""

import os

import numpy as np
import pytest
import ray
import torch
from process_group import on_two_ranks
from ray import tune

from trainables.checkpoints import write_final_result
from trainables.datasets import load_dataset
from trainables.distributed import current_shard
from trainables.protocol import TrainingConfig
from trainables.settings import TrialSettings
from trainables.train_loop import train_network

CONFIG = {"depths": [1, 1, 1], "role": "A", "iteration": 1}
EPOCHS = 2


class RecordingSession:
    """Where ``train_network`` reports: kept with the files of each checkpoint it was given."""

    trial_id = "trial"
    threads = 1
    device = torch.device("cpu")

    def __init__(self) -> None:
        self.shard = current_shard()
        self.reports = []

    def resumed_checkpoint(self):
        return None

    def report(self, metrics: dict, checkpoint_folder: str | None) -> None:
        files = sorted(os.listdir(checkpoint_folder)) if checkpoint_folder else []
        self.reports.append({"metrics": metrics, "checkpoint_files": files})


def digits_settings() -> TrialSettings:
    return TrialSettings(
        data_source=ray.put(load_dataset("digits", seed=0)),
        criterion="plsvip",
        scoring_samples=200,
        seed=0,
        training=TrainingConfig(epochs=EPOCHS, lr=0.05, batch_size=64),
    )


def run_candidate() -> list[dict]:
    """The candidate trained in this process (joined to Ray, in a process group or not)."""
    session = RecordingSession()
    train_network(CONFIG, digits_settings(), [], session)
    return session.reports


def joined_to_ray(rank: int, ray_address: str) -> list[dict]:
    """One rank, in a process of its own joined to the session's Ray (for the object store)."""
    ray.init(address=ray_address, log_to_driver=False)
    try:
        return run_candidate()
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def one_and_two_ranks(ray_session, tmp_path_factory) -> tuple[list[dict], list[list[dict]]]:
    address = ray_session.get_runtime_context().gcs_address
    return run_candidate(), on_two_ranks(joined_to_ray, tmp_path_factory.mktemp("ranks"), address)


def test_two_ranks_report_what_one_process_reports(one_and_two_ranks):
    alone, (first, second) = one_and_two_ranks
    assert len(alone) == len(first) == len(second) == EPOCHS  # Ray Train's report is a barrier
    for epoch in range(EPOCHS):
        keys = set(alone[epoch]["metrics"])
        assert set(first[epoch]["metrics"]) == keys | {"worker_node_ids"}
        assert first[epoch]["metrics"]["acceleration"]["workers"] == "2"
        # both ranks count the validation images and the loss of all of them
        for key in ("val_accuracy", "train_loss", "images_seen", "energy_kwh"):
            assert first[epoch]["metrics"][key] == second[epoch]["metrics"][key]
    last, alone_last = first[-1]["metrics"], alone[-1]["metrics"]
    # scored once, by rank 0, on the same 200 images: real scores for every stage
    assert set(last["importance"]) == set(alone_last["importance"]) == {"s1", "s2", "s3"}
    assert all(np.isfinite(list(last["importance"].values())))
    assert "importance" not in second[-1]["metrics"] and "test_accuracy" not in second[-1]["metrics"]
    assert last["params"] == alone_last["params"] and 0 <= last["test_accuracy"] <= 1
    # rank 0 writes every epoch's checkpoint (the last with its final report); rank 1 none
    assert [r["checkpoint_files"] for r in first] == [
        ["architecture.json", "checkpoint.pt"],
        ["architecture.json", "checkpoint.pt", "final_result.json"],
    ]
    assert all(not r["checkpoint_files"] for r in second)


def test_a_trial_resumed_after_its_last_epoch_reports_its_final_result_again(ray_session, tmp_path):
    """The driver stopped after a trial's last epoch, before Tune recorded the trial's end: the
    attempt that resumes from that checkpoint trains nothing and reports the saved last result
    again, with the checkpoint (whose location a data-parallel trial's report names)."""
    final = {"epoch": EPOCHS, "val_accuracy": 0.5, "importance": {"s1": 0.1, "s2": 0.2, "s3": 0.3}}
    write_final_result(tmp_path, final)
    (tmp_path / "checkpoint.pt").write_bytes(b"never read: the report needs no weights")

    class Resumed(RecordingSession):
        def resumed_checkpoint(self):
            return tune.Checkpoint.from_directory(str(tmp_path))

    session = Resumed()
    train_network(CONFIG, digits_settings(), [], session)
    assert session.reports == [{"metrics": final, "checkpoint_files": ["checkpoint.pt", "final_result.json"]}]
