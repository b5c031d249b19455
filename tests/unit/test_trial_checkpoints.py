"""A trial's latest checkpoint: Tune's, or the one its last report names."""

from pathlib import Path

from ray import tune

from trainables.data_parallel import latest_checkpoint
from trainables.trial_config import CHECKPOINT_LOCATION_KEY


def test_a_trials_latest_checkpoint_is_tunes_or_the_one_its_report_names(tmp_path):
    own = tune.Checkpoint.from_directory(str(tmp_path))
    assert latest_checkpoint(own, {CHECKPOINT_LOCATION_KEY: "/elsewhere"}) is own
    named = latest_checkpoint(None, {CHECKPOINT_LOCATION_KEY: str(tmp_path)})
    assert Path(named.path) == tmp_path
    assert latest_checkpoint(None, {"epoch": 3}) is None and latest_checkpoint(None, None) is None
