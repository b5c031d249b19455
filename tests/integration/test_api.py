"""The Python API: ``search(SearchConfig(...))`` checks settings like the command line and returns
a typed result; ``examples/python_api.py`` runs as the README shows it."""

from __future__ import annotations

import re
import runpy
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

from nas_service import SearchResult, stage_importance

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "python_api.py"


def test_the_example_runs_a_search_and_its_result_is_typed(ray_session, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace = runpy.run_path(str(EXAMPLE), run_name="__main__")
    result = namespace["result"]
    printed = capsys.readouterr().out
    assert printed.startswith("refused: --epochs 0: must be at least 1\n")

    assert isinstance(result, SearchResult)
    assert {f.name for f in fields(SearchResult)} >= {
        "depths",
        "decisions",
        "candidates",
        "parent_run_id",
        "results",
        "model_uri",
    }
    # one iteration from 1-1-1 with delta 1: A 1-1-1, T 2-2-2, the found network grown from A
    (decision,) = result.decisions
    assert (decision["A"], decision["T"]) == ("1-1-1", "2-2-2")
    grown = tuple(1 + int(grows) for grows in decision["grows"])  # a stage grows where T won
    assert result.depths == grown
    assert decision["next"] == "-".join(map(str, grown))
    assert f"found {result.depths} in MLflow run {result.parent_run_id}" in printed
    # the candidates table holds every trained network, the result grid every trial
    names = list(result.candidates["run_name"])
    assert names[:2] == ["it1-A-1-1-1", "it1-T-2-2-2"]
    assert len(result.results) == len(names) and not result.results.errors
    assert result.run_name in names
    assert result.model_uri.startswith("models:/m-")  # an MLflow logged model
    assert re.search(r"torch.Size\(\[1, 10\]\)", printed)  # the model loaded and ran
    assert result.settings.name == "api-example" and result.settings.epochs == 2
    assert not result.stopped_by_budget and result.spent["images"] > 0


def test_stage_importance_is_the_stage_score_here_and_on_the_actors(ray_session):
    from scoring.actor import create_scoring_pool
    from scoring.criteria import stage_score

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 150)
    stages = [rng.normal(size=(150, 12)) + labels[:, None], rng.normal(size=(150, 6))]
    here = stage_importance(stages, labels, "plsvip", bootstrap=5, seed=1)
    assert here["importance"] == {
        f"s{i + 1}": pytest.approx(stage_score(f, labels, "plsvip")) for i, f in enumerate(stages)
    }
    assert [len(here["importance_bootstrap"][s]) for s in ("s1", "s2")] == [5, 5]
    remote = stage_importance(
        stages, labels, "plsvip", bootstrap=5, seed=1, scorers=create_scoring_pool(2), spread_key="trial-1"
    )
    assert remote["importance"] == pytest.approx(here["importance"], rel=1e-12)
    assert [len(remote["importance_bootstrap"][s]) for s in ("s1", "s2")] == [5, 5]
    assert "importance_bootstrap" not in stage_importance(stages, labels, "plsvip")


def test_the_searcher_runs_a_users_own_trainable_in_a_plain_tuner(ray_session, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace = runpy.run_path(str(ROOT / "examples" / "own_trainable.py"), run_name="__main__")
    searcher, results = namespace["searcher"], namespace["results"]
    assert searcher.done and searcher.error is None and not results.errors
    assert len(searcher.history) == 2
    assert (searcher.history[0]["depths_a"], searcher.history[0]["depths_t"]) == ((1, 1), (2, 2))
    for step in searcher.history:  # each decision is the rule on the scores the trials reported
        wins = [t > a for a, t in zip(step["importance_a"], step["importance_t"], strict=True)]
        assert step["grown"] == tuple(m + w for m, w in zip(step["depths_a"], wins, strict=True))
    assert searcher.final_depths == searcher.history[-1]["grown"]
    trained = {tuple(r.config["depths"]) for r in results}
    assert searcher.final_depths in trained and len(results) <= searcher.max_trials
    assert f"found {searcher.final_depths} after {len(results)} trained networks" in capsys.readouterr().out
