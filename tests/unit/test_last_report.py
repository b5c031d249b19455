"""The last report kept beside a trial's last checkpoint reads back as plain numbers."""

import numpy as np

from trainables.checkpoints import read_final_result, write_final_result


def test_the_last_report_kept_beside_the_last_checkpoint_reads_back_as_plain_numbers(tmp_path):
    report = {
        "epoch": 3,
        "val_accuracy": np.float64(0.75),
        "importance": {"s1": np.float32(0.5)},
        "importance_bootstrap": {"s1": np.array([0.25, 0.5])},
        "last_result": True,
    }
    assert read_final_result(tmp_path) is None  # an earlier epoch's checkpoint has none
    write_final_result(tmp_path, report)
    assert read_final_result(tmp_path) == {
        "epoch": 3,
        "val_accuracy": 0.75,
        "importance": {"s1": 0.5},
        "importance_bootstrap": {"s1": [0.25, 0.5]},
        "last_result": True,
    }
