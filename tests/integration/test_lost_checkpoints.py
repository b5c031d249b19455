"""A saved search whose trial names a checkpoint that was deleted before the state was saved (a
driver killed between the two) resumes from the newer checkpoint in the trial's folder."""

import json
import shutil
import tempfile
from pathlib import Path

from ray import tune

from nas_service.tune.lost_checkpoints import repoint_lost_checkpoints

EPOCHS = 4


def count_epochs(config) -> None:
    """Reports epochs 1-4, each with a checkpoint holding its number; the first attempt dies in
    epoch 3."""
    checkpoint = tune.get_checkpoint()
    start = 0
    if checkpoint is not None:
        with checkpoint.as_directory() as folder:
            start = json.loads((Path(folder) / "epoch.json").read_text())
    for epoch in range(start, EPOCHS):
        if checkpoint is None and epoch == 2:
            raise RuntimeError("the first attempt dies in epoch 3")
        with tempfile.TemporaryDirectory() as folder:
            (Path(folder) / "epoch.json").write_text(json.dumps(epoch + 1))
            tune.report(
                {"epoch": epoch + 1, "resumed_after": start},
                checkpoint=tune.Checkpoint.from_directory(folder),
            )


def run_config(storage: Path) -> tune.RunConfig:
    return tune.RunConfig(
        name="lost",
        storage_path=str(storage),
        verbose=0,
        checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
    )


def test_a_trial_naming_a_deleted_checkpoint_resumes_from_the_newer_one(ray_session, tmp_path):
    first = tune.Tuner(count_epochs, run_config=run_config(tmp_path / "runs")).fit()
    assert first[0].error is not None and first[0].metrics["epoch"] == 2
    experiment = tmp_path / "runs" / "lost"
    (trial_folder,) = [path for path in experiment.iterdir() if path.is_dir()]
    # the race: epoch 3's checkpoint was written and epoch 2's deleted, the state still names 2
    assert sorted(p.name for p in trial_folder.glob("checkpoint_*")) == ["checkpoint_000001"]
    (trial_folder / "checkpoint_000001").rename(trial_folder / "checkpoint_000002")
    (trial_folder / "checkpoint_000002" / "epoch.json").write_text("3")
    shutil.copytree(experiment, tmp_path / "unmended" / "lost")

    unmended = tune.Tuner.restore(
        str(tmp_path / "unmended" / "lost"), count_epochs, resume_errored=True
    ).fit()
    assert "does not exist on storage anymore" in str(unmended[0].error)

    assert repoint_lost_checkpoints(str(experiment)) == [trial_folder.name]
    assert repoint_lost_checkpoints(str(experiment)) == []  # mended once
    (result,) = tune.Tuner.restore(str(experiment), count_epochs, resume_errored=True).fit()
    assert result.error is None
    assert result.metrics["epoch"] == EPOCHS and result.metrics["resumed_after"] == 3
    # Tune's count follows the checkpoints (2 named, 1 lost report, 1 after the resume); the next
    # checkpoint did not overwrite the one the trial resumed from
    assert result.metrics["training_iteration"] == 4
    assert Path(result.checkpoint.path).name == "checkpoint_000003"
