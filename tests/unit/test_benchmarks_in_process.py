"""Benchmarks run in this process at toy size, without Ray: the mapped-reads timing and the
scaling benchmark's comparison of searches run one by one and side by side."""

import numpy as np
import pandas as pd
import pytest
from benchmark_modules import in_process


def test_mapped_reads_times_one_epoch_of_batches_from_each_source(monkeypatch):
    result = in_process(monkeypatch, "mapped_reads").main(
        ["--images", "2000", "--repeats", "2", "--image-size", "8"]
    )
    assert [row["source"] for row in result["rows"]] == ["memory", "mapped, cached", "mapped, from disk"]
    memory = result["rows"][0]
    for row in result["rows"]:
        assert len(row["epoch_seconds"]) == 2
        # by hand: images over the median epoch, and the memory epoch's median over this one's
        assert row["images_per_s"] == pytest.approx(2000 / np.median(row["epoch_seconds"]))
        assert row["vs_memory"] == pytest.approx(
            np.median(memory["epoch_seconds"]) / np.median(row["epoch_seconds"])
        )
    # the cached source read files whose pages an earlier pass had brought in: every byte
    assert result["rows"][1]["page_cache_mb_before"] >= 2000 * 3 * 8 * 8 / 1e6


def test_scaling_compares_searches_run_one_by_one_and_side_by_side(monkeypatch):
    scaling = in_process(monkeypatch, "scaling")
    found = pd.DataFrame(
        {"method": ["stagewise"], "seed": [0], "best depths": ["3-3-1"], "best val acc (%)": [91.0]}
    )
    runs = {1: (30.0, found), None: (12.0, found.assign(**{"best depths": ["3-3-3"]}))}
    monkeypatch.setattr(scaling, "run_compare", lambda seeds, extra, storage, name, at_once: runs[at_once])
    result = scaling.main(["--searches", "--seeds", "0"])
    assert result["speedup"] == 2.5 and result["same_networks"] is False
