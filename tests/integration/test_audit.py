"""``stagewise-nas audit`` for real on digits: its audit.json recomputed by hand from the MLflow
child runs' metrics, and its bad input refused in one line before Ray."""

import json
import re

import numpy as np
import pytest
from mlflow.tracking import MlflowClient
from scipy import stats

from nas_service.cli.main import main
from nas_service.tracking.tags import PARENT_RUN_ID_TAG

LEVEL = 0.5  # with 2 seeds: a stage is decided when both seeds' gains have one sign


def decided(values) -> bool:
    """The t-interval at LEVEL over the seeds excludes 0 (written out, not the library's)."""
    values = np.asarray(values)
    half = stats.t.ppf((1 + LEVEL) / 2, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return values.mean() - half > 0 or values.mean() + half < 0


def test_audit_numbers_are_the_child_runs(ray_session, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code = main(
        [
            "audit",
            "--m0",
            "1",
            "--delta",
            "1",
            "--epochs",
            "2",
            "--seeds",
            "2",
            "--scoring-samples",
            "300",
            "--criteria",
            "plsvip,random",
            "--score-at",
            "0.5,1",
            "--interval-level",
            str(LEVEL),
            "--name",
            "audit",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out[-3000:]
    report = tmp_path / "nas_results" / "audit" / "report"
    for name in ("audit.json", "audit.md", "audit.png"):
        assert f"[nas] audit: {report / name}" in out
    record = json.loads((report / "audit.json").read_text())

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("stagewise-nas")
    (parent,) = client.search_runs([experiment.experiment_id], "attributes.run_name = 'audit'")
    assert parent.data.tags["nas.method"] == "audit"
    assert {"audit.json", "audit.md", "audit.png"} <= {
        a.path for a in client.list_artifacts(parent.info.run_id)
    }
    runs = {
        run.info.run_name: run
        for run in client.search_runs(
            [experiment.experiment_id], f"tags.`{PARENT_RUN_ID_TAG}` = '{parent.info.run_id}'"
        )
    }
    children = ["grow-s1-2-1-1", "grow-s2-1-2-1", "grow-s3-1-1-2"]
    assert sorted(runs) == sorted(
        f"{network}-r{r}" for network in ["A-1-1-1", "T-2-2-2", *children] for r in (1, 2)
    )
    # paired: a seed gives every network its init seed
    assert {name: int(run.data.params["init_seed"]) for name, run in runs.items()} == {
        name: int(name[-1]) - 1 for name in runs
    }
    assert all(run.info.status == "FINISHED" for run in runs.values())

    for metric in ("val_accuracy", "test_accuracy"):
        gains = [
            [
                runs[f"{child}-r{r}"].data.metrics[metric] - runs[f"A-1-1-1-r{r}"].data.metrics[metric]
                for r in (1, 2)
            ]
            for child in children
        ]
        np.testing.assert_allclose([g["per_seed"] for g in record["gains"][metric]], gains, atol=1e-12)
        for criterion in ("plsvip", "random"):
            for fraction, epoch in (("0.5", 1), ("1.0", 2)):

                def score(name, stage, criterion=criterion, epoch=epoch):
                    history = client.get_metric_history(
                        runs[name].info.run_id, f"importance_by/{criterion}/s{stage}"
                    )
                    return next(m.value for m in history if m.step == epoch)

                differences = [
                    [score(f"T-2-2-2-r{r}", s) - score(f"A-1-1-1-r{r}", s) for r in (1, 2)] for s in (1, 2, 3)
                ]
                entry = record["by_criterion"][criterion][fraction]
                assert entry["epoch"] == epoch
                np.testing.assert_allclose(
                    [d["per_seed"] for d in entry["differences"]], differences, rtol=1e-12
                )
                # agreement by hand: each seed's decision on a decided stage vs its mean gain
                cells = [
                    (np.mean(gains[s]) > 0, differences[s][r] > 0)
                    for s in range(3)
                    if decided(gains[s])
                    for r in range(2)
                ]
                found = entry["agreement"][metric]
                assert found["cells"] == len(cells)
                assert found["undecided_stages"] == sum(not decided(g) for g in gains)
                if cells:
                    assert found["agreeing"] == sum(helped == grew for helped, grew in cells)
                    assert found["always_grow"] == pytest.approx(np.mean([h for h, _ in cells]))
                else:
                    assert found["rate"] is None and found["balanced"] is None
    # the random control draws per network and stage, the same at every scoring epoch
    random_scores = record["by_criterion"]["random"]
    assert random_scores["0.5"]["differences"] == random_scores["1.0"]["differences"]
    markdown = (report / "audit.md").read_text()
    assert re.search(r"^\| plsvip \| 2 \| ", markdown, re.M)
    assert (report / "audit.png").read_bytes()[:4] == b"\x89PNG"


def test_audit_from_search_reuses_the_networks_it_trained(ray_session, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert (
        main(
            [
                "run",
                "--iterations",
                "1",
                "--m0",
                "1",
                "--delta",
                "1",
                "--epochs",
                "1",
                "--scoring-samples",
                "300",
                "--bootstrap",
                "0",
                "--name",
                "searched",
            ]
        )
        == 0
    )
    capsys.readouterr()
    for flags, fragment in [
        (["--from-search", "nosuch"], "--from-search nosuch: no stage-wise search of that name"),
        (
            ["--from-search", "searched", "--epochs", "2"],
            "--epochs 2: --from-search searched audits with the search's saved settings",
        ),
        (
            ["--from-search", "searched", "--score-at", "0.5,1"],
            "--score-at '0.5,1': a search keeps its networks' final checkpoints only",
        ),
        (["--from-search", "searched", "--name", "searched"], "a search of that name is already in"),
    ]:
        assert main(["audit", *flags]) == 2
        err = capsys.readouterr().err.strip()
        assert fragment in err and len(err.splitlines()) == 1, err

    code = main(
        [
            "audit",
            "--from-search",
            "searched",
            "--seeds",
            "2",
            "--criteria",
            "plsvip,random",
            "--interval-level",
            str(LEVEL),
            "--name",
            "audited",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out[-3000:]
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("stagewise-nas")

    def runs_of(parent_name: str) -> dict:
        (parent,) = client.search_runs([experiment.experiment_id], f"attributes.run_name = '{parent_name}'")
        return {
            run.info.run_name: run
            for run in client.search_runs(
                [experiment.experiment_id], f"tags.`{PARENT_RUN_ID_TAG}` = '{parent.info.run_id}'"
            )
        }

    searched, audited = runs_of("searched"), runs_of("audited")
    # the extra seed comes after every seed the search used, its found network's included
    extra = max(int(run.data.params["init_seed"]) for run in searched.values()) + 1
    children = ["grow-s1-2-1-1", "grow-s2-1-2-1", "grow-s3-1-1-2"]
    # the search's A and T (seed 0) are reused, not trained again
    assert sorted(audited) == sorted(
        [f"it1-{c}-r{r}" for c in children for r in (1, 2)] + ["it1-A-1-1-1-r2", "it1-T-2-2-2-r2"]
    )
    assert {name: int(run.data.params["init_seed"]) for name, run in audited.items()} == {
        name: 0 if name.endswith("-r1") else extra for name in audited
    }

    record = json.loads((tmp_path / "nas_results" / "audited" / "report" / "audit.json").read_text())
    (iteration,) = record["iterations"]
    assert record["search"]["name"] == "searched" and iteration["seeds"] == [0, extra]
    networks = {n["run_name"]: n for n in iteration["networks"]}
    assert networks["it1-A-1-1-1-r1"]["run_id"] == searched["it1-A-1-1-1"].info.run_id
    assert networks["it1-T-2-2-2-r1"]["reused_from"] == "searched/it1-T-2-2-2"
    a_runs = [searched["it1-A-1-1-1"], audited["it1-A-1-1-1-r2"]]
    t_runs = [searched["it1-T-2-2-2"], audited["it1-T-2-2-2-r2"]]
    for metric in ("val_accuracy", "test_accuracy"):
        gains = [
            [
                audited[f"it1-{child}-r{r + 1}"].data.metrics[metric] - a_runs[r].data.metrics[metric]
                for r in (0, 1)
            ]
            for child in children
        ]
        np.testing.assert_allclose([g["per_seed"] for g in iteration["gains"][metric]], gains, atol=1e-12)

    def score(run, stage: int, criterion: str = "plsvip") -> float:
        if "importance_by/plsvip/s1" not in run.data.metrics:  # the search's: its own criterion
            return run.data.metrics[f"importance/s{stage}"]
        return run.data.metrics[f"importance_by/{criterion}/s{stage}"]

    # seed 0's differences are the search's own scores, recomputed from its checkpoints
    differences = [[score(t_runs[r], s) - score(a_runs[r], s) for r in (0, 1)] for s in (1, 2, 3)]
    found = iteration["by_criterion"]["plsvip"]["1.0"]
    np.testing.assert_allclose(
        [d["per_seed"] for d in found["differences"]], differences, rtol=1e-4, atol=1e-7
    )
    # one iteration: the pooled agreement is that iteration's
    assert record["pooled"]["by_criterion"]["plsvip"]["1.0"]["agreement"] == found["agreement"]
    markdown = (tmp_path / "nas_results" / "audited" / "report" / "audit.md").read_text()
    assert f"| 1 | 1-1-1 | 2-2-2 | 0, {extra} | " in markdown

    client.set_terminated(
        client.search_runs([experiment.experiment_id], "attributes.run_name = 'searched'")[0].info.run_id,
        "KILLED",
    )
    assert main(["audit", "--from-search", "searched"]) == 2
    assert "--from-search searched: the search is killed" in capsys.readouterr().err
