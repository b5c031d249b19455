"""The GPU benchmarks run end to end on a CPU at toy size and write what the README quotes."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from benchmark_modules import in_process

from scoring.criteria import CRITERIA

ROOT = Path(__file__).resolve().parents[2]


def run_benchmark(script: str, *args: str, timeout: int = 300) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        cwd=ROOT,
        check=True,
        timeout=timeout,
        capture_output=True,
        text=True,
    )


def test_train_throughput_compares_both_loops_and_projects_the_protocol(tmp_path):
    out = tmp_path / "throughput.json"
    run_benchmark(
        "train_throughput.py",
        "--device",
        "cpu",
        "--models",
        "1-1-1,2-2-2",
        "--batch-sizes",
        "32,64",
        "--images",
        "192",
        "--epochs",
        "1",
        "--workers",
        "0",
        "--pack-ratio",
        "1.5",
        "--out",
        str(out),
    )
    result = json.loads(out.read_text())
    assert result["device"] == "cpu" and result["torch"]
    assert [(r["depths"], r["batch_size"]) for r in result["rows"]] == [
        ("1-1-1", 32),
        ("1-1-1", 64),
        ("2-2-2", 32),
        ("2-2-2", 64),
    ]
    for row in result["rows"]:
        assert row["plain_images_per_s"] > 0 and row["ours_images_per_s"] > 0
        assert row["ours_vs_plain"] == pytest.approx(row["ours_images_per_s"] / row["plain_images_per_s"])
        assert row["ours_settings"]["precision"] == "fp32"
        assert "compiled_images_per_s" not in row  # compiling is timed on GPUs only

    # by hand: seconds per image linear in the block count through the batch-32 points (3 and 6
    # blocks); A_k, T_k have 18..42 and 24..48 blocks; the final 16-16-16 trains 300 epochs
    rate = {3: result["rows"][0]["ours_images_per_s"], 6: result["rows"][2]["ours_images_per_s"]}

    def per_image(blocks):
        return 1 / rate[3] + (blocks - 3) * (1 / rate[6] - 1 / rate[3]) / 3

    pairs = sum(200 * 50_000 * per_image(b) for b in (18, 24, 30, 36, 42, 24, 30, 36, 42, 48))
    expected_hours = (pairs / 1.5 + 300 * 50_000 * per_image(48)) / 3600
    projection = result["projection"]
    assert projection["hours"] == pytest.approx(expected_hours, rel=1e-9)
    assert projection["models"][0] == "6-6-6" and projection["models"][-1] == "16-16-16"
    assert len(projection["models"]) == 11


def test_pack_a_t_times_real_tune_trials(ray_session, tmp_path, monkeypatch):
    out = tmp_path / "pack.json"
    in_process(monkeypatch, "pack_a_t").main(
        [
            "--a",
            "1-1-1",
            "--t",
            "2-2-2",
            "--images",
            "200",
            "--epochs",
            "1",
            "--gpu-fraction",
            "0",
            "--out",
            str(out),
        ]
    )
    result = json.loads(out.read_text())
    assert result["sequential_s"] > 0 and result["packed_s"] > 0
    assert result["packed_speedup"] == pytest.approx(result["sequential_s"] / result["packed_s"])
    assert (result["a"], result["t"], result["epochs"]) == ("1-1-1", "2-2-2", 1)


def test_fast_vs_plain_accuracy_trains_both_paths_on_the_same_data(tmp_path):
    out = tmp_path / "accuracy.json"
    run_benchmark(
        "fast_vs_plain_accuracy.py",
        "--dataset",
        "synthetic",
        "--device",
        "cpu",
        "--depths",
        "1-1-1",
        "--epochs",
        "1",
        "--precision",
        "bf16",
        "--out",
        str(out),
    )
    result = json.loads(out.read_text())
    assert result["plain"]["settings"]["precision"] == "fp32"
    assert result["fast"]["settings"]["precision"] == "bf16"
    assert result["difference_points"] == pytest.approx(
        100 * (result["fast"]["test_accuracy"] - result["plain"]["test_accuracy"])
    )
    assert result["train_images"] > 0 and 0 <= result["plain"]["test_accuracy"] <= 1


def test_criteria_speed_times_every_criterion_and_the_actor(ray_session, tmp_path, monkeypatch):
    out = tmp_path / "criteria.json"
    in_process(monkeypatch, "criteria_speed").main(
        [
            "--samples",
            "200",
            "--features",
            "8,16",
            "--actor-features",
            "8",
            "--repeats",
            "1",
            "--out",
            str(out),
        ]
    )
    result = json.loads(out.read_text())
    assert [row["features"] for row in result["seconds"]] == [8, 16]
    for row in result["seconds"]:
        assert all(row[c] > 0 for c in ("plsvip", "inffs", "ilfs"))
    for timing in result["actor_vs_direct"].values():
        assert timing["ratio"] == pytest.approx(timing["actor_s"] / timing["direct_s"])


def test_scoring_cost_times_each_criterion_and_projects_the_bootstrap(tmp_path):
    out = tmp_path / "scoring.json"
    run_benchmark(
        "scoring_cost.py",
        "--samples",
        "300",
        "--features",
        "16,8",
        "--bootstrap",
        "10",
        "--replicates-timed",
        "2",
        "--out",
        str(out),
    )
    result = json.loads(out.read_text())
    assert result["samples"] == 300 and result["bootstrap"] == 10
    assert [row["criterion"] for row in result["rows"]] == list(CRITERIA)
    for row in result["rows"]:
        assert row["score_seconds"] > 0 and row["bootstrap_seconds_per_replicate"] > 0
        assert row["bootstrap_seconds_projected"] == pytest.approx(
            10 * row["bootstrap_seconds_per_replicate"]
        )


def test_lone_trial_threads_times_one_and_two_threads_per_image_size(tmp_path):
    out = tmp_path / "threads.json"
    run_benchmark(
        "lone_trial_threads.py",
        "--depths",
        "1-1-1",
        "--sizes",
        "8:1,16:3",
        "--rounds",
        "1",
        "--seconds",
        "0.2",
        "--out",
        str(out),
    )
    result = json.loads(out.read_text())
    assert [(row["image_size"], row["channels"]) for row in result["rows"]] == [(8, 1), (16, 3)]
    for row in result["rows"]:
        assert row["speedup"] == pytest.approx(row["one_thread_s"] / row["two_threads_s"])


@pytest.mark.parametrize("mapped", [False, True], ids=["object store", "mapped folder"])
def test_data_memory_measures_the_driver_the_object_store_and_each_trial(
    ray_session, tmp_path, monkeypatch, mapped
):
    result = in_process(monkeypatch, "data_memory").main(
        [
            "--train-images",
            "20000",
            "--val-images",
            "2000",
            "--image-size",
            "16",
            "--trials",
            "1",
            *(["--mapped"] if mapped else []),
        ]
    )
    # by hand: 22,000 images of 3x16x16 bytes and their int64 labels
    assert result["data_mb"] == pytest.approx(22_000 * (3 * 16 * 16 + 8) / 1e6, abs=0.05)
    if mapped:  # the trials mapped the files, which the trial's statistics read whole
        assert result["object_store_mb"] < 0.1 * result["data_mb"]
        assert result["page_cache_mb"] >= 0.9 * result["data_mb"]
    else:
        assert result["object_store_mb"] >= 0.9 * result["data_mb"]  # the search put it there once
    assert len(result["trials"]) == 1
    for process in (result["driver"], *result["trials"]):
        assert process["uss_mb"] > 0 and process["rss_mb"] >= process["uss_mb"]
    assert ray_session.is_initialized()  # the session's Ray is left running


def test_scaling_measures_each_layout_from_its_later_epochs(ray_session, monkeypatch):
    """One layout at toy size (the 2-worker layout's trial is test_data_parallel_trial's)."""
    result = in_process(monkeypatch, "scaling").main(
        ["--workers", "1", "--epochs", "3", "--max-train-images", "300", "--depths", "1-1-1"]
    )
    (row,) = result["runs"]
    assert (row["layout"], row["workers"], result["train_images"]) == ("1 x 1 CPU", 1, 300)
    # by hand: images over the median of the epochs after the first
    later = sorted(row["epoch_seconds"][1:])
    assert row["images_per_s"] == pytest.approx(300 / ((later[0] + later[1]) / 2), rel=1e-9)
    assert result["summary"][0]["speedup_vs_1x1"] == 1.0 and 0 <= row["test_accuracy"] <= 1
