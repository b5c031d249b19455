"""Weight transfer end to end: a too-shallow donor fails the CLI before Ray, and a real transfer
search whose candidates start from a trained donor stored in MLflow."""

import subprocess
import sys
from dataclasses import replace

import torch
from donors import save_donor, trained_donor
from mlflow.tracking import MlflowClient

from nas_service.cli.arguments import parse_config
from nas_service.methods.single import train_one
from nas_service.methods.stagewise import search
from nas_service.tracking.tags import PARENT_RUN_ID_TAG
from trainables.datasets import load_dataset
from trainables.models import build_model
from trainables.protocol import PRESETS
from trainables.spec import ArchSpec
from trainables.training import CandidateTrainer, ImageBatches, channel_stats


def test_a_too_shallow_donor_fails_the_cli_before_ray(tmp_path):
    save_donor(tmp_path / "donor", trained_donor((2, 2, 2), in_channels=1))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "nas_service.run",
            "--m0",
            "1",
            "--iterations",
            "1",
            "--delta",
            "2",
            "--transfer-from",
            str(tmp_path / "donor"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .endswith("donor stage 1 has 2 modules, the search needs up to 3 (donor 2-2-2)")
    )
    assert "Ray" not in done.stdout + done.stderr


def one_epoch_from_scratch(depths) -> float:
    """Validation accuracy of ``depths`` after one epoch of the quick preset, from scratch."""
    data = load_dataset("digits", seed=0)
    torch.manual_seed(0)
    trainer = CandidateTrainer(
        build_model(ArchSpec(depths=depths, in_channels=1, image_size=8)), replace(PRESETS["quick"], epochs=1)
    )
    train = ImageBatches(data.x_train, data.y_train, *channel_stats(data.x_train), torch.device("cpu"))
    trainer.train_epoch(train, 0, torch.Generator().manual_seed(0), flip=False)
    return trainer.evaluate(train.sibling(data.x_val, data.y_val))


def test_a_transfer_search_fine_tunes_from_a_donor_in_mlflow(
    ray_session, tmp_path, tracking_uri, monkeypatch
):
    """The donor is a network trained by ``python -m nas_service.train``, taken from MLflow."""
    monkeypatch.chdir(tmp_path)
    trained = train_one(
        parse_config(
            ["--initial-depths", "3-3-3", "--epochs", "3", "--tracking-uri", tracking_uri, "--name", "donor"]
        )
    )
    client = MlflowClient(tracking_uri)
    donor_run = trained["run_id"]
    donor = client.get_run(donor_run)
    assert donor.data.params["role"] == "single" and donor.data.params["depths"] == "3-3-3"

    config = parse_config(
        [
            "--m0",
            "1",
            "--delta",
            "1",
            "--iterations",
            "1",
            "--scoring-samples",
            "200",
            "--tracking-uri",
            tracking_uri,
            "--transfer-from",
            f"runs:/{donor_run}",
            "--finetune-epochs",
            "1",
            "--name",
            "transfer",
        ]
    )
    record = search(config)
    children = client.search_runs(
        [client.get_experiment_by_name("stagewise-nas").experiment_id],
        f"tags.`{PARENT_RUN_ID_TAG}` = '{record['parent_run_id']}'",
    )
    assert children and all(c.data.metrics["epoch"] == 1 for c in children)  # fine-tuned only
    # every candidate, one epoch from the donor's weights, far above one epoch from scratch
    # (measured: 1-1-1 0.46 vs 0.29, 1-1-2 0.77 vs 0.40; a one-epoch run trains at the preset's
    # lr 0.02 since its milestones moved past epoch 0, where both used to train at 0.002)
    for child in children:
        depths = tuple(int(m) for m in child.data.params["depths"].split("-"))
        scratch = one_epoch_from_scratch(depths)
        assert child.data.metrics["val_accuracy"] > scratch + 0.1, (depths, scratch)
    parent = client.get_run(record["parent_run_id"])
    assert parent.data.params["transfer_from"] == f"runs:/{donor_run}"
