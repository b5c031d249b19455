"""Point a saved search's trials at their newest checkpoint when the one Tune named is gone.

Tune keeps one checkpoint per trial here (``CheckpointConfig(num_to_keep=1)``): when a trial
reports a new checkpoint the driver deletes the older one at once, but the experiment state that
names the new one is written at the end of that step and copied to storage in the background.
A driver killed in between (SIGKILL, out of memory, a lost head node) leaves a state whose running
trials name deleted checkpoints; ``Tuner.restore`` would then fail those trials ("does not exist
on storage anymore") although their newer checkpoint is in the trial's folder.  Keeping more
checkpoints does not close the gap (Tune forces the state's save exactly when it deletes), so
the state is mended before a resume instead.  (The newest checkpoint's own report reached
MLflow before Tune deleted the older one, so no epoch goes unlogged; the trial's last report is
also kept beside its last checkpoint, ``trainables.checkpoints.write_final_result``.)

The mend edits two pickled fields of Tune's experiment state (the trial's checkpoint manager and
its storage context's next checkpoint index); ``ray`` is pinned, and the resume tests break if
that layout changes.
"""

from __future__ import annotations

import json
import logging
import re

from ray import cloudpickle
from ray.train._internal.storage import _exists_at_fs_path, _list_at_fs_path, get_fs_and_path
from ray.tune.execution.experiment_state import _find_newest_experiment_checkpoint

logger = logging.getLogger(__name__)

CHECKPOINT_FOLDER = re.compile(r"checkpoint_(\d+)")


def repoint_lost_checkpoints(experiment_path: str) -> list[str]:
    """Mend the newest experiment state under ``experiment_path`` (a folder or URI) in place;
    returns the names of the trials that now resume from a newer checkpoint than it named."""
    fs, _ = get_fs_and_path(experiment_path)
    state_path = _find_newest_experiment_checkpoint(experiment_path, fs)
    if state_path is None:
        return []
    with fs.open_input_stream(state_path) as stream:
        state = json.loads(stream.read())
    mended = []
    for entry in state["trial_data"]:
        trial_name = _repoint_trial(fs, entry)
        if trial_name is not None:
            mended.append(trial_name)
    if mended:
        with fs.open_output_stream(state_path) as stream:
            stream.write(json.dumps(state).encode())
    return mended


def _repoint_trial(fs, entry: list[str]) -> str | None:
    """Mend one ``[trial state, run metadata]`` pair in place when its latest checkpoint is gone
    and a newer one lies in its folder; returns the trial's folder name if it did."""
    trial_state, run_metadata = json.loads(entry[0]), json.loads(entry[1])
    manager = _unpickle(run_metadata["checkpoint_manager"])
    latest = manager.latest_checkpoint_result
    if latest is None or _exists_at_fs_path(fs, latest.checkpoint.path):
        return None
    trial_folder, _, lost_name = latest.checkpoint.path.rpartition("/")
    trial_name = trial_folder.rpartition("/")[2]
    lost_index = _checkpoint_index(lost_name)
    newer = [
        index
        for index in map(_checkpoint_index, _list_at_fs_path(fs, trial_folder))
        if index is not None and lost_index is not None and index > lost_index
    ]
    if not newer:
        return None  # nothing to resume from: Tune's own error stands
    newest = max(newer)
    latest.checkpoint = type(latest.checkpoint)(
        path=f"{trial_folder}/checkpoint_{newest:06d}", filesystem=latest.checkpoint.filesystem
    )
    # one report per checkpoint: Tune's iteration count moves on with the checkpoint index
    latest.metrics = {
        **latest.metrics,
        "training_iteration": latest.metrics.get("training_iteration", 0) + newest - lost_index,
    }
    manager._checkpoint_results = [latest]
    storage = _unpickle(trial_state["storage"])
    storage.current_checkpoint_index = newest  # the last one written: the next save goes after it
    run_metadata["checkpoint_manager"] = _pickled(manager)
    trial_state["storage"] = _pickled(storage)
    entry[0], entry[1] = json.dumps(trial_state), json.dumps(run_metadata)
    logger.warning(
        "trial %s resumes from %s: the state named %s, which was deleted before the state was saved",
        trial_name,
        f"checkpoint_{newest:06d}",
        lost_name,
    )
    return trial_name


def _checkpoint_index(name: str) -> int | None:
    match = CHECKPOINT_FOLDER.fullmatch(name)
    return int(match.group(1)) if match else None


def _unpickle(field: dict):
    """A ``TuneFunctionEncoder`` cloudpickle field (the search's own state, so trusted)."""
    return cloudpickle.loads(bytes.fromhex(field["value"]))


def _pickled(value) -> dict:
    return {"_type": "CLOUDPICKLE_FALLBACK", "value": cloudpickle.dumps(value).hex()}
