"""A real, small comparison on digits: stage-wise, random search and ASHA at an equal budget."""

import contextlib
import io
import json
import logging
import math
import re
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from test_search_integration import expected_trajectory

from nas_service.cli.arguments import parse_config
from nas_service.cli.compare import main as compare_main
from nas_service.core.search_quality import hypervolume
from nas_service.core.space import DepthSpace
from nas_service.methods.stagewise import search
from nas_service.methods.variants import compare_criteria
from nas_service.tracking.tags import BUDGET_SPENT_TAG, FINAL_RUN_ID_TAG, METHOD_TAG, PARENT_RUN_ID_TAG
from trainables.spec import format_depths, parse_depths

# one study of two seeds, shared by the study's test and the side-by-side test: half a CPU per
# trial, so the session's 2 CPUs have room for both seeds' searches (4 trials) at once
STUDY_ARGS = [
    "--seeds",
    "0,1",
    "--iterations",
    "1",
    "--m0",
    "1",
    "--epochs",
    "2",
    "--max-train-images",
    "400",
    "--references",
    "1,2",
    "--scoring-samples",
    "300",
    "--cpus-per-trial",
    "0.5",
]


def run_study(folder: Path, name: str, *extra: str) -> str:
    """``compare`` with ``STUDY_ARGS`` run in ``folder`` (its MLflow store and results); stdout."""
    console = io.StringIO()
    with contextlib.chdir(folder), contextlib.redirect_stdout(console):
        assert (
            compare_main(
                [*STUDY_ARGS, "--name", name, "--tracking-uri", f"sqlite:///{folder / 'mlflow.db'}", *extra]
            )
            == 0
        )
    return console.getvalue()


@pytest.fixture(scope="module")
def one_after_another(ray_session, tmp_path_factory) -> tuple[Path, str]:
    """The study of seeds 0 and 1, one seed after the other (``--searches-at-once 1``): its
    folder and console."""
    folder = tmp_path_factory.mktemp("study")
    return folder, run_study(folder, "cmp", "--searches-at-once", "1")


def study_children(runs, parent) -> list:
    return [
        r
        for r in runs
        if r.data.tags.get(PARENT_RUN_ID_TAG) == parent.info.run_id and "epoch" in r.data.metrics
    ]


def test_equal_budget_study_through_the_cli(one_after_another):
    """Stage-wise, random, ASHA and TPE at stage-wise's budget, the references and uniform twins
    trained beside them, per seed, and every number of the study equal to the MLflow runs it
    came from."""
    folder, console = one_after_another
    assert "Could not fetch metrics" not in console and "Failed to fetch" not in console
    assert "seeds at once" not in console  # --searches-at-once 1

    study = json.loads((folder / "nas_results" / "cmp" / "study.json").read_text())
    assert study["seeds"] == [0, 1]
    client = MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("stagewise-nas")
    runs = client.search_runs([experiment.experiment_id], max_results=1000)
    (comparison,) = [r for r in runs if r.data.tags.get(METHOD_TAG) == "comparison"]
    figures = comparison.data.metrics
    space = DepthSpace.reachable_by_stagewise((1, 1, 1), 2, 1)
    ref_macs = study["hypervolume reference point"]["macs"]
    best_test = {}
    for seed in (0, 1):
        rows = {row["method"]: row for row in study["per seed"] if row["seed"] == seed}
        assert list(rows) == ["stagewise", "stagewise (found)", "random", "asha", "tpe"]
        parents = {
            r.data.tags[METHOD_TAG]: r
            for r in runs
            if PARENT_RUN_ID_TAG not in r.data.tags and r.info.run_name.startswith(f"cmp-s{seed}-")
        }
        assert set(parents) == {"stagewise", "random", "asha", "tpe", "uniform"}
        assert study["parent runs"][str(seed)] == {m: r.info.run_id for m, r in parents.items()}
        budget = sum(c.data.metrics["images_seen"] for c in study_children(runs, parents["stagewise"]))
        uniform = pd.DataFrame(
            [
                {
                    "depths": c.data.params["depths"],
                    "macs": c.data.metrics["macs"],
                    "test_accuracy": c.data.metrics["test_accuracy"],
                }
                for c in study_children(runs, parents["uniform"])
            ]
        )
        # the references, and the uniform networks around every best network's MACs
        assert {"1-1-1", "2-2-2"} <= set(uniform["depths"])
        found_run = parents["stagewise"].data.tags[FINAL_RUN_ID_TAG]
        # the hypervolume counts only what lies above the cheapest network, stage-wise's first A
        (cheapest,) = [
            c.data.metrics["val_accuracy"]
            for c in study_children(runs, parents["stagewise"])
            if c.info.run_name == "it1-A-1-1-1"
        ]
        assert study["hypervolume reference point"]["val_accuracy"][str(seed)] == cheapest
        for method, row in rows.items():
            if method == "stagewise (found)":  # the network the search returned, not the best
                (best,) = [
                    c for c in study_children(runs, parents["stagewise"]) if c.info.run_id == found_run
                ]
            else:
                trained = study_children(runs, parents[method])
                assert trained and all(space.contains(parse_depths(c.data.params["depths"])) for c in trained)
                spent = sum(c.data.metrics["images_seen"] for c in trained)
                assert spent <= budget and row["budget used (images)"] == spent
                assert row["networks trained"] == len(trained)
                # the highest validation accuracy; of ties, the cheapest (training order)
                best = max(
                    sorted(trained, key=lambda c: c.data.metrics["macs"]),
                    key=lambda c: c.data.metrics["val_accuracy"],
                )
                assert row["hypervolume"] == round(
                    hypervolume(
                        [c.data.metrics["macs"] for c in trained],
                        [c.data.metrics["val_accuracy"] for c in trained],
                        ref_macs,
                        cheapest,
                    ),
                    4,
                )
            assert row["best depths"] == best.data.params["depths"]
            assert row["best test acc (%)"] == round(100 * best.data.metrics["test_accuracy"], 2)
            best_test.setdefault(method, []).append(row["best test acc (%)"])
            # the uniform gap by hand: linear in MACs between the nearest uniform networks
            macs, accuracy = best.data.metrics["macs"], best.data.metrics["test_accuracy"]
            below = uniform[uniform["macs"] <= macs].sort_values("macs").iloc[-1]
            above = uniform[uniform["macs"] >= macs].sort_values("macs").iloc[0]
            weight = (
                0
                if above["macs"] == below["macs"]
                else (macs - below["macs"]) / (above["macs"] - below["macs"])
            )
            expected = accuracy - (
                below["test_accuracy"] + weight * (above["test_accuracy"] - below["test_accuracy"])
            )
            assert row["uniform gap (points)"] == pytest.approx(round(100 * expected, 2), abs=0.006)
            # every parent run carries its returned network's measures: one sortable column
            if method in ("random", "asha", "tpe"):  # stage-wise's returns its found network
                parent_metrics = parents[method].data.metrics
                assert parent_metrics["test_accuracy"] == best.data.metrics["test_accuracy"]
                assert parent_metrics["search/networks_trained"] == row["networks trained"]
                assert parent_metrics["search/images"] == row["budget used (images)"]
        assert parents["stagewise"].data.metrics["test_accuracy"] == pytest.approx(
            rows["stagewise (found)"]["best test acc (%)"] / 100, abs=5e-5
        )
        assert float(parents["tpe"].data.params["budget_images"]) == budget
    # the comparison run: each method's mean and spread (ddof 0) over the two seeds
    for method, values in best_test.items():
        slug = method.replace(" (found)", "_found")
        assert figures[f"{slug}/best_test_acc_pct"] == pytest.approx(sum(values) / 2)
        assert figures[f"{slug}/best_test_acc_pct_std"] == pytest.approx(abs(values[0] - values[1]) / 2)
        assert figures[f"{slug}/seeds"] == 2

    # ASHA's status lines count the networks the budget still pays for, not its 1000 samples:
    # each section (a seed's) at most one network per epoch of its budget
    budgets = [float(b) for b in re.findall(r"stage-wise spent (\d+) training images", console)]
    sections = re.findall(
        r"\[nas\] asha: [^\n]*train (\d+)[^\n]*epochs per network\n(.*?)"
        r"\[nas\] tpe: ",
        console,
        re.S,
    )
    assert len(budgets) == len(sections) == 2
    for budget, (epoch_images, section) in zip(budgets, sections, strict=True):
        epoch_images = int(epoch_images)
        counts = [int(n) for n in re.findall(r"search: at most (\d+) more network", section)]
        assert counts and max(counts) <= math.ceil(budget / epoch_images), (counts, budget)

    artifacts = {a.path for a in client.list_artifacts(comparison.info.run_id)}
    assert {
        "comparison.md",
        "comparison.csv",
        "pareto.png",
        "study.json",
        "study.md",
        "study.png",
    } <= artifacts
    tpe = best_test["tpe"]
    assert (
        f"| tpe | 2 | {sum(tpe) / 2:.4g} ± {abs(tpe[0] - tpe[1]) / 2:.2g} |"
        in (folder / "nas_results" / "cmp" / "study.md").read_text()
    )


def test_seeds_side_by_side_find_what_they_find_one_after_another(one_after_another, tmp_path):
    """The same study with both seeds at once (the cluster's default): their trials overlap in
    time, and stage-wise, random search, TPE and the uniform networks train and find the very
    networks of the seeds run one after the other.  (ASHA's early stops depend on the order in
    which its two concurrent trials report, side by side or not, and are left out.)"""
    alone_folder, _ = one_after_another
    console = run_study(tmp_path, "side")
    assert "compare: 2 seeds at once (the cluster has room for 4 trials of 0.5 CPU)" in console

    def trained_by_seed(folder: Path, name: str) -> dict[int, list[tuple[int, int]]]:
        """(start, end) of every network each seed trained, in MLflow."""
        client = MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")
        experiment = client.get_experiment_by_name("stagewise-nas")
        runs = client.search_runs([experiment.experiment_id], max_results=1000)
        spans = {}
        for seed in (0, 1):
            parents = {r.info.run_id for r in runs if r.info.run_name.startswith(f"{name}-s{seed}-")}
            spans[seed] = [
                (r.info.start_time, r.info.end_time)
                for r in runs
                if r.data.tags.get(PARENT_RUN_ID_TAG) in parents
            ]
        return spans

    side = trained_by_seed(tmp_path, "side")
    assert any(start0 < end1 and start1 < end0 for start0, end0 in side[0] for start1, end1 in side[1])
    alone = trained_by_seed(alone_folder, "cmp")
    assert max(end for _, end in alone[0]) <= min(start for start, _ in alone[1])

    def networks(folder: Path, name: str) -> pd.DataFrame:
        trials = pd.read_csv(folder / "nas_results" / name / "comparison_trials.csv")
        trials = trials.loc[trials["method"] != "asha"]
        trials = trials.assign(run_name=trials["run_name"].str.replace(name, "study"))
        return (
            trials[["seed", "method", "run_name", "depths", "val_accuracy", "test_accuracy"]]
            .sort_values(["seed", "method", "run_name"])
            .reset_index(drop=True)
        )

    side_networks = networks(tmp_path, "side")
    assert set(side_networks["method"]) == {"stagewise", "random", "tpe", "uniform"}
    pd.testing.assert_frame_equal(side_networks, networks(alone_folder, "cmp"))
    found = {
        name: pd.read_csv(path / "nas_results" / name / "comparison.csv")
        .query("method == 'stagewise (found)'")[["seed", "best depths", "best val acc (%)"]]
        .reset_index(drop=True)
        for name, path in (("side", tmp_path), ("cmp", alone_folder))
    }
    assert len(found["side"]) == 2
    pd.testing.assert_frame_equal(found["side"], found["cmp"])


def test_a_budget_ends_stagewise_cleanly(ray_session, tmp_path, tracking_uri, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # 300 training images: 2 epochs of A and T (1200 images) fit, iteration 2 does not.
    config = parse_config(
        [
            "--iterations",
            "3",
            "--m0",
            "1",
            "--epochs",
            "2",
            "--name",
            "budget",
            "--max-train-images",
            "300",
            "--budget-images",
            "2000",
            "--tracking-uri",
            tracking_uri,
        ]
    )
    record = search(config)
    assert record["stopped_by_budget"] and record["spent"]["images"] <= 2000
    assert len(record["iterations"]) == 1
    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name("stagewise-nas")
    (parent,) = client.search_runs([experiment.experiment_id], "attributes.run_name = 'budget'")
    assert parent.info.status == "FINISHED"
    # what a resumed search's driver reads (its own stopper object is not the one Tune ran)
    assert parent.data.tags[BUDGET_SPENT_TAG] == "true"


def test_criteria_comparison_runs_one_search_per_criterion(
    ray_session, tmp_path, tracking_uri, monkeypatch, caplog
):
    """Half a CPU per trial: the session's 2 CPUs hold 4 trials, so both searches run at once."""
    monkeypatch.chdir(tmp_path)
    config = parse_config(
        [
            "--iterations",
            "1",
            "--m0",
            "1",
            "--epochs",
            "2",
            "--name",
            "crit",
            "--tracking-uri",
            tracking_uri,
            "--max-train-images",
            "300",
            "--references",
            "2",
            "--cpus-per-trial",
            "0.5",
        ]
    )
    with caplog.at_level(logging.INFO):
        table = compare_criteria(config, ["inffs", "ilfs"])
    assert (
        "compare: 2 criteria searches at once (the cluster has room for 4 trials of 0.5 CPU)"
    ) in caplog.text
    # whose log line is whose
    assert "[criterion ilfs] " in caplog.text and "[criterion inffs] " in caplog.text

    # per criterion: iteration 1 is the start, iteration 2 the final architecture; the reference
    # trained once after them
    assert list(zip(table["criterion"], table["iteration"].fillna(0), strict=True)) == [
        ("inffs", 1),
        ("inffs", 2),
        ("ilfs", 1),
        ("ilfs", 2),
        ("uniform", 0),
    ]
    assert table["depths"].iloc[-1] == "2-2-2" and table["test acc (%)"].iloc[-1] > 0
    assert (table.loc[table["iteration"] == 1, "depths"] == "1-1-1").all()
    assert (table["params (M)"] > 0).all() and table["val acc (%)"].between(0, 100).all()
    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name("stagewise-nas")
    parents = {
        r.info.run_name: r
        for r in client.search_runs([experiment.experiment_id])
        if r.data.tags.get(METHOD_TAG) == "stagewise"
    }
    assert parents["crit-inffs"].data.params["criterion"] == "inffs"
    assert parents["crit-ilfs"].data.params["criterion"] == "ilfs"
    # side by side: each search started before the other one ended
    inffs, ilfs = parents["crit-inffs"].info, parents["crit-ilfs"].info
    assert inffs.start_time < ilfs.end_time and ilfs.start_time < inffs.end_time
    first_a = {}
    for name in ("crit-inffs", "crit-ilfs"):  # the search really used its criterion's scores
        children = client.search_runs(
            [experiment.experiment_id], f"tags.`{PARENT_RUN_ID_TAG}` = '{parents[name].info.run_id}'"
        )
        _, final = expected_trajectory(
            config.start_depths,
            config.delta,
            config.iterations,
            {
                (parse_depths(c.data.params["depths"]), int(c.data.params["init_seed"])): [
                    c.data.metrics[f"importance/s{i}"] for i in (1, 2, 3)
                ]
                for c in children
            },
        )
        assert table.loc[table["criterion"] == name.removeprefix("crit-"), "depths"].iloc[
            -1
        ] == format_depths(final)  # the decision its recorded scores give, whatever ran beside
        scores = [c.data.metrics["importance/s1"] for c in children]
        assert all(0 <= score <= 99 for score in scores), scores
        (first,) = [c for c in children if c.info.run_name == "it1-A-1-1-1"]
        first_a[name] = first.data.metrics
    # the same network (same seed, same data) scored by two criteria: trained alike, scored apart
    assert first_a["crit-inffs"]["val_accuracy"] == first_a["crit-ilfs"]["val_accuracy"]
    assert all(
        first_a["crit-inffs"][f"importance/s{i}"] != first_a["crit-ilfs"][f"importance/s{i}"]
        for i in (1, 2, 3)
    )
    assert (tmp_path / "nas_results" / "crit" / "criteria.md").exists()
