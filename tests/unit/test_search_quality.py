"""The study's figures against values computed by hand on fixed tables."""

import logging

import pandas as pd
import pytest
import torch

from nas_service.cli.compare import study_seeds
from nas_service.core.errors import ConfigError
from nas_service.core.search_quality import hypervolume, mean_and_spread, uniform_gap
from nas_service.tune.experiment import NeverReportedFilter
from trainables.checkpoints import ARCHITECTURE_FILE, CHECKPOINT_FILE
from trainables.datasets import load_dataset
from trainables.evaluation import checkpoint_test_accuracy
from trainables.metrics.size import count_macs
from trainables.metrics.uniform import bracketing_uniform_depths, equivalent_uniform_depth
from trainables.models import build_model
from trainables.spec import ArchSpec
from trainables.training import channel_stats


def test_hypervolume_of_a_staircase_by_hand():
    # reference (100 MACs, accuracy 0.5); front (20, 0.7), (50, 0.8), (80, 0.9); (60, 0.75) is
    # dominated, (120, 0.95) is costlier than the reference, (10, 0.4) less accurate than it
    macs = [20, 50, 80, 60, 120, 10]
    accuracy = [0.7, 0.8, 0.9, 0.75, 0.95, 0.4]
    by_hand = 0.8 * 0.2 + 0.5 * 0.1 + 0.2 * 0.1
    assert hypervolume(macs, accuracy, ref_macs=100, ref_accuracy=0.5) == pytest.approx(by_hand)
    assert hypervolume([20], [0.7], 100) == pytest.approx(0.8 * 0.7)
    assert hypervolume([150], [0.9], 100) == 0.0
    with pytest.raises(ValueError, match="reference MACs"):
        hypervolume([1], [1], 0)


UNIFORM = pd.DataFrame(
    {
        "depths": ["1-1-1", "2-2-2", "3-3-3"],
        "macs": [100.0, 200.0, 300.0],
        "test_accuracy": [0.60, 0.70, 0.76],
    }
)


def test_uniform_gap_interpolates_between_the_nearest_uniform_networks():
    gap = uniform_gap(250.0, 0.80, UNIFORM)
    assert gap.uniform_accuracy == pytest.approx(0.73)  # halfway from 0.70 to 0.76
    assert gap.gap == pytest.approx(0.07)
    assert gap.between == ("2-2-2", "3-3-3") and gap.note == "interpolated"
    exact = uniform_gap(200.0, 0.65, UNIFORM)
    assert exact.gap == pytest.approx(-0.05) and exact.note == "equal MACs"


def test_uniform_gap_outside_the_uniform_range_says_so():
    cheaper = uniform_gap(50.0, 0.62, UNIFORM)
    assert cheaper.gap == pytest.approx(0.02) and cheaper.between == ("1-1-1",)
    assert "cheaper than every uniform network" in cheaper.note
    costlier = uniform_gap(400.0, 0.70, UNIFORM)
    assert costlier.gap == pytest.approx(-0.06) and "costlier" in costlier.note
    none = uniform_gap(100.0, 0.5, UNIFORM.iloc[0:0])
    assert none.gap != none.gap and none.note == "no uniform network trained"


def test_mean_and_spread_over_seeds_by_hand():
    rows = pd.DataFrame({"method": ["a", "b", "a", "b", "a"], "x": [1.0, 5.0, 2.0, 5.0, 6.0]})
    table = mean_and_spread(rows, ["x"])
    assert list(table["method"]) == ["a", "b"] and list(table["seeds"]) == [3, 2]
    assert table["x mean"].tolist() == pytest.approx([3.0, 5.0])
    assert table["x std"].tolist() == pytest.approx([(14 / 3) ** 0.5, 0.0])  # ddof 0


def test_the_bracketing_uniform_networks_hold_the_network_between_them():
    spec = ArchSpec(depths=(1, 4, 2), image_size=8, in_channels=1)
    low, high = bracketing_uniform_depths(spec)
    assert (low, high) == ((2,) * 3, (3,) * 3)  # 7 modules: between 6 and 9

    def macs(depths):
        return count_macs(build_model(spec.with_depths(depths)), 1, 8)

    assert macs(low) < macs(spec.depths) < macs(high)
    assert equivalent_uniform_depth(spec) == pytest.approx(7 / 3)
    assert bracketing_uniform_depths(spec.with_depths((3, 3, 3))) == [(3, 3, 3)]


def test_study_seeds():
    assert study_seeds(None, 3, 5) == [5, 6, 7]
    assert study_seeds("0,4", None, 1) == [0, 4] and study_seeds(None, None, 2) == [2]
    for bad in ((None, 0), ("1,2", 2)):
        with pytest.raises(ConfigError, match="--study"):
            study_seeds(*bad, 0)


def test_tunes_warning_about_trials_that_never_reported_is_dropped_only_for_them():
    never = (
        "- sample-2-2-2: FileNotFoundError('Could not fetch metrics for sample-2-2-2: both "
        "result.json and progress.csv were not found at /x')"
    )

    def record(*lines):
        return logging.LogRecord(
            "ray",
            logging.WARNING,
            "",
            0,
            "\n".join(["Failed to fetch metrics for 1 trial(s):", *lines]),
            None,
            None,
        )

    keep = NeverReportedFilter().filter
    assert not keep(record(never))
    assert keep(record(never, "- sample-1-1-1: OSError('disk')"))
    assert keep(logging.LogRecord("ray", logging.WARNING, "", 0, "other", None, None))


def test_a_checkpoints_test_accuracy_is_the_networks_own(tmp_path):
    data = load_dataset("digits", seed=0)
    spec = ArchSpec(depths=(1, 1, 1), image_size=data.image_size, in_channels=data.in_channels)
    torch.manual_seed(0)
    model = build_model(spec).eval()
    (tmp_path / ARCHITECTURE_FILE).write_text(spec.to_json())
    torch.save({"model": model.state_dict()}, tmp_path / CHECKPOINT_FILE)

    x = torch.tensor(data.x_test, dtype=torch.float32) / 255
    mean = torch.tensor(data.x_train, dtype=torch.float32).div(255).mean(dim=(0, 2, 3))
    std = torch.tensor(data.x_train, dtype=torch.float32).div(255).std(dim=(0, 2, 3), unbiased=False)
    with torch.no_grad():
        predicted = model((x - mean[None, :, None, None]) / std[None, :, None, None]).argmax(1)
    by_hand = (predicted.numpy() == data.y_test).mean()
    assert checkpoint_test_accuracy(tmp_path, data, channel_stats(data.x_train)) == pytest.approx(by_hand)
