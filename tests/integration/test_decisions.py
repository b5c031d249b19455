"""A real search whose decisions are read back and recomputed by hand: every iteration trains a
fresh A (never the previous T again), and with ``--score-seeds 2`` every scored network is
trained from two init seeds and a stage grows on the mean T-A difference."""

import json
import re

import numpy as np
from mlflow.tracking import MlflowClient

from nas_service.cli.run import main
from nas_service.tracking.tags import PARENT_RUN_ID_TAG
from trainables.spec import parse_depths


def test_two_seeds_per_decision_and_a_fresh_a_every_iteration(ray_session, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code = main(
        [
            "--iterations",
            "2",
            "--m0",
            "1",
            "--delta",
            "1",
            "--epochs",
            "1",
            "--scoring-samples",
            "200",
            "--bootstrap",
            "10",
            "--score-seeds",
            "2",
            "--criterion",
            "criteria_stubs:depth_by_seed",
            "--seed",
            "0",
            "--name",
            "seeds",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out[-3000:]
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("stagewise-nas")
    (parent,) = client.search_runs([experiment.experiment_id], "attributes.run_name = 'seeds'")
    runs = {
        run.info.run_name: run
        for run in client.search_runs(
            [experiment.experiment_id], f"tags.`{PARENT_RUN_ID_TAG}` = '{parent.info.run_id}'"
        )
    }
    seeds = {name: int(run.data.params["init_seed"]) for name, run in runs.items()}
    # iteration 1 grew every stage; iteration 2 trained a new A of the grown depths from its own
    # seeds (2, 3), not the T of iteration 1 (seeds 0, 1) again; the found network is new too
    assert seeds == {
        "it1-A-1-1-1-r1": 0,
        "it1-A-1-1-1-r2": 1,
        "it1-T-2-2-2-r1": 0,
        "it1-T-2-2-2-r2": 1,
        "it2-A-2-2-2-r1": 2,
        "it2-A-2-2-2-r2": 3,
        "it2-T-3-3-3-r1": 2,
        "it2-T-3-3-3-r2": 3,
        "final-3-2-3": 4,
    }
    assert len({run.info.run_id for run in runs.values()}) == 9

    def logged(name: str) -> np.ndarray:
        return np.array([runs[name].data.metrics[f"importance/s{i}"] for i in (1, 2, 3)])

    depths = "1-1-1"
    for iteration in (1, 2):
        deeper = "-".join(str(m + 1) for m in parse_depths(depths))
        a = [logged(f"it{iteration}-A-{depths}-r{r}") for r in (1, 2)]
        t = [logged(f"it{iteration}-T-{deeper}-r{r}") for r in (1, 2)]
        mean_difference = np.mean([t[r] - a[r] for r in (0, 1)], axis=0)
        grown = [m + 1 if d > 0 else m for m, d in zip(parse_depths(depths), mean_difference, strict=True)]
        # seed 1 (r2) alone would not grow stages 1 and 2 in iteration 1; seed 2 (r1) alone would
        # grow stage 2 in iteration 2: the mean decides
        (line,) = re.findall(rf"^iteration {iteration}: .*$", out, re.M)
        assert f"A {depths} x2 seeds vs T {deeper} x2 seeds" in line
        assert line.endswith(f"-> {'-'.join(map(str, grown))} (grew)"), line
        depths = "-".join(map(str, grown))
    assert depths == "3-2-3" and "reused" not in out
    assert "Found architecture: 3-2-3 (run final-3-2-3" in out
    # the per-seed scores are in the decision record too
    record = client.download_artifacts(parent.info.run_id, "final_architecture.json", str(tmp_path))
    with open(record) as handle:
        steps = json.load(handle)["iterations"]
    assert steps[0]["init_seeds"] == [0, 1] and steps[1]["init_seeds"] == [2, 3]
    assert steps[0]["importance_A_per_seed"] == [
        logged("it1-A-1-1-1-r1").tolist(),
        logged("it1-A-1-1-1-r2").tolist(),
    ]
    assert steps[1]["runs_A"] == ["it2-A-2-2-2-r1", "it2-A-2-2-2-r2"]
    assert not any(step["reused_A"] or step["reused_T"] for step in steps)
