"""A real search: local Ray, real Tune trials, scoring actors and a sqlite MLflow store."""

import importlib.util
import json
import re
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import mlflow.pytorch
import numpy as np
import pytest
import torch
from mlflow.tracking import MlflowClient
from mlflow_server import mlflow_server, rest_example
from ray import tune

from nas_service.cli.arguments import parse_config
from nas_service.cli.report import main as report_main
from nas_service.cli.run import main as run_main
from nas_service.core.growth import deepen_all, grow_depths
from nas_service.methods.stagewise import search
from nas_service.reporting.report import PLOTS
from nas_service.tracking.tags import FINAL_RUN_ID_TAG, PARENT_RUN_ID_TAG
from nas_service.tune.searcher import StageWiseSearcher
from scoring.actor import create_scoring_pool
from scoring.criteria import stage_score
from trainables.checkpoints import load_trained_model
from trainables.trial_config import LAST_RESULT_KEY


def test_scoring_actor_matches_the_direct_call(ray_session):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 120)
    stages = [rng.normal(size=(120, 16)) + labels[:, None], rng.normal(size=(120, 8))]
    (scorer,) = create_scoring_pool(1)
    remote = ray_session.get(scorer.score_stages.remote(stages, labels, "plsvip"))
    assert remote == pytest.approx([stage_score(f, labels, "plsvip") for f in stages], rel=1e-12)


def scores_by_role(config, folder):
    """A stand-in network: A and T of an iteration run side by side (each waits for the other to
    start), A ends first, stage 1 of T wins, so every iteration trains two new networks."""
    role, iteration = config["role"], config["iteration"]
    (Path(folder) / f"{iteration}-{role}").touch()
    partner = Path(folder) / f"{iteration}-{'A' if role == 'T' else 'T'}"
    deadline = time.monotonic() + 60
    while role in "AT" and not partner.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5 if role == "T" else 0.0)
    scores = [0.6, 0.4, 0.4] if role == "T" else [0.5, 0.5, 0.5]
    tune.report(
        {
            "val_accuracy": 0.5,
            LAST_RESULT_KEY: True,
            "importance": {f"s{i + 1}": v for i, v in enumerate(scores)},
        }
    )


def test_later_networks_train_in_the_first_two_processes(ray_session, tmp_path):
    """reuse_actors keeps a process per concurrent trial only if the next proposals wait when a
    trial stops: the searcher takes the scores from the result marked as the last, before Tune
    stops the trial."""
    searcher = StageWiseSearcher((1, 1, 1), delta=1, iterations=3)
    tuner = tune.Tuner(
        tune.with_parameters(scores_by_role, folder=str(tmp_path)),
        tune_config=tune.TuneConfig(
            search_alg=searcher,
            num_samples=searcher.max_trials,
            max_concurrent_trials=2,
            metric="val_accuracy",
            mode="max",
            reuse_actors=True,
        ),
        run_config=tune.RunConfig(storage_path=str(tmp_path), verbose=0),
    )
    results = tuner.fit()
    assert [step["grown"] for step in searcher.history] == [(2, 1, 1), (3, 1, 1), (4, 1, 1)]
    assert len(results) == 7 and not results.errors
    assert len({result.metrics["pid"] for result in results}) == 2


def expected_trajectory(start, delta, iterations, importance_of):
    """Replay Algorithm 1 on the importances the runs recorded, (depths, init seed) -> role in
    first-seen order: iteration k trains A and T from seed k - 1 (a fresh A every iteration), and
    the found network is the last A (reused) when the last iteration grew nothing, else a new
    network from seed n."""
    seen, current = {}, tuple(start)
    for iteration in range(1, iterations + 1):
        seed = iteration - 1
        t_depths = deepen_all(current, delta)
        seen.setdefault((current, seed), "A")
        seen.setdefault((t_depths, seed), "T")
        grown = grow_depths(current, importance_of[current, seed], importance_of[t_depths, seed], delta)
        if grown != current:
            seed = iterations
        current = grown
    seen.setdefault((current, seed), "final")
    return seen, current


TABLE_III_METRICS = [
    "depth",
    "params",
    "macs",
    "memory_mb",
    "cpu_latency_ms",
    "train_seconds",
    "energy_kwh",
    "emissions_kg",
]


def check_final_model_loads(client, parent, record, tmp_path):
    """runs:/<final>/model is a working network: the same logits as the trained checkpoint."""
    final_run_id = parent.data.tags[FINAL_RUN_ID_TAG]
    assert final_run_id == record["measures"]["mlflow_run_id"]
    folder = tmp_path / "final_checkpoint"
    folder.mkdir()
    for name in ("architecture.json", "checkpoint.pt"):
        client.download_artifacts(final_run_id, name, str(folder))
    spec, trained = load_trained_model(folder)
    assert spec.depths_text == record["depths"]
    images = torch.randn(5, spec.in_channels, spec.image_size, spec.image_size)
    # the logged model, and the run's model path that MLflow resolves to it
    for uri in (record["model_uri"], f"runs:/{final_run_id}/model"):
        loaded = mlflow.pytorch.load_model(uri)
        with torch.no_grad():
            assert torch.allclose(loaded.eval()(images), trained(images), atol=1e-6)


def check_overhead_split(client, parent, children):
    """benchmarks/overhead.py's split of each trial's wall time adds up to it."""
    spec = importlib.util.spec_from_file_location(
        "overhead", Path(__file__).parents[2] / "benchmarks" / "overhead.py"
    )
    sys.path.insert(0, str(Path(spec.origin).parent))  # its benchmark_io
    try:
        overhead = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(overhead)
    finally:
        sys.path.remove(str(Path(spec.origin).parent))
    rows = {row["trial"]: row for row in overhead.trial_rows(client, parent.info.run_id, 1.0)}
    assert sorted(rows) == sorted(child.info.run_name for child in children)
    for child in children:
        row = rows[child.info.run_name]
        assert row["wall"] == (child.info.end_time - child.info.start_time) / 1000
        assert row["train"] == child.data.metrics["train_seconds"]
        assert row["outside"] == pytest.approx(
            row["wall"]
            - sum(value for key, value in child.data.metrics.items() if key.startswith("phase_seconds/"))
        )
        assert row["overhead"] == pytest.approx(row["wall"] - row["train"])
        assert row["measuring"] == pytest.approx(
            sum(child.data.metrics[f"phase_seconds/{name}"] for name in overhead.MEASURING)
        )
        assert row["service"] == pytest.approx(row["overhead"] - row["measuring"])
        assert row["slots"] == int(child.data.tags["nas.train.threads"])  # 1 CPU per trial


def check_what_the_mlflow_ui_shows(tracking_uri, parent, children, record, tmp_path, capsys):
    """Through a real ``mlflow server``'s REST API, as its UI reads them: the parent's metrics,
    description, data set and model; every child's chartable params and data set."""
    final = next(c for c in children if c.info.run_id == record["measures"]["mlflow_run_id"])
    example = rest_example()
    rest = example.call
    with mlflow_server(tracking_uri, tmp_path / "server.log") as url:
        experiment = rest(url, "experiments/get-by-name", experiment_name="stagewise-nas")["experiment"][
            "experiment_id"
        ]
        shown = rest(url, "runs/get", run_id=parent.info.run_id)["run"]
        metrics = {m["key"]: m["value"] for m in shown["data"]["metrics"]}
        for key in ("val_accuracy", "test_accuracy", "params", "macs", "cpu_latency_ms", "depth"):
            assert metrics[key] == pytest.approx(final.data.metrics[key]), key
        assert metrics["search/networks_trained"] == len(children)
        for key, per_child in (("search/images", "images_seen"), ("search/kgco2eq", "emissions_kg")):
            assert metrics[key] == pytest.approx(sum(c.data.metrics[per_child] for c in children))
        assert metrics["search/wall_seconds"] > sum(c.data.metrics["train_seconds"] for c in children) / 2
        description = {t["key"]: t["value"] for t in shown["data"]["tags"]}["mlflow.note.content"]
        assert f"**Found architecture: `{record['depths']}`**" in description
        decisions = description.split("## Decisions")[1]  # a row per iteration, A named
        for step in record["iterations"]:
            assert re.search(rf"^\| {step['iteration']} \| \d+ \| [^|]*{step['A']}", decisions, re.M), (
                step,
                decisions,
            )
        (dataset,) = [i["dataset"] for i in shown["inputs"]["dataset_inputs"]]
        assert dataset["name"] == "digits" and dataset["source_type"] == "code"
        profile = json.loads(dataset["profile"])
        assert profile["image_shape"] == [1, 8, 8] and profile["classes"] == 10
        assert profile["train_images"] + profile["val_images"] + profile["test_images"] == 1797

        (model,) = rest(url, "logged-models/search", {"experiment_ids": [experiment]})["models"]
        assert record["model_uri"] == f"models:/{model['info']['model_id']}"
        assert model["info"]["source_run_id"] == final.info.run_id
        assert model["info"]["status"] == "LOGGED_MODEL_READY"
        assert {m["key"] for m in model["data"]["metrics"]} >= {"val_accuracy", "test_accuracy"}
        assert [o["model_id"] for o in shown["outputs"]["model_outputs"]] == [model["info"]["model_id"]]

        listed = rest(
            url,
            "runs/search",
            {
                "experiment_ids": [experiment],
                "filter": f"tags.`{PARENT_RUN_ID_TAG}` = '{parent.info.run_id}'",
            },
        )["runs"]
        assert len(listed) == len(children)
        for run in listed:
            params = {p["key"]: p["value"] for p in run["data"]["params"]}
            depths = params["depths"].split("-")
            assert [params[f"m{i + 1}"] for i in range(len(depths))] == depths
            assert params["depth"] == str(
                int(dict((m["key"], m["value"]) for m in run["data"]["metrics"])["depth"])
            )
            assert {
                k: params[k]
                for k in (
                    "module",
                    "width",
                    "criterion",
                    "preset",
                    "epochs",
                    "lr",
                    "batch_size",
                    "precision",
                    "dataset",
                )
            } == {
                "module": "basic",
                "width": "16",
                "criterion": "plsvip",
                "preset": "quick",
                "epochs": "3",
                "lr": "0.02",
                "batch_size": "64",
                "precision": "auto",
                "dataset": "digits",
            }
            assert params["seed"] == params["init_seed"]
            (child_dataset,) = [i["dataset"] for i in run["inputs"]["dataset_inputs"]]
            assert child_dataset["digest"] == dataset["digest"]
        example.main(url)  # examples/mlflow_rest.py prints the same
    printed = capsys.readouterr().out
    assert f"parent run {parent.info.run_id} (it-test), FINISHED" in printed
    assert f"{len(children)} candidates:" in printed
    assert f"logged model {model['info']['model_id']} from run {final.info.run_id}" in printed


def check_report_rebuilds(tracking_uri, parent, record, tmp_path, run_names):
    """``stagewise-nas report`` rebuilds report.md and the plots from MLflow alone: a
    table row for every trained network, one decision row per iteration that ran."""
    output = tmp_path / "rebuilt"
    assert (
        report_main(["--tracking-uri", tracking_uri, "--run-id", parent.info.run_id, "--output", str(output)])
        == 0
    )
    text = (output / "report.md").read_text()
    assert f"Found architecture: `{record['depths']}`" in text
    rows = re.findall(r"^\| ((?:it\d-[AT]|final)-[\d-]+) \|", text, re.M)
    assert sorted(rows) == sorted(run_names)
    # one decision row per iteration, each with the iteration's own init seed (k - 1)
    decisions = re.findall(r"^\| (\d) \| (\d) \| ", text, re.M)
    assert [(int(k), int(seed)) for k, seed in decisions] == [
        (step["iteration"], step["iteration"] - 1) for step in record["iterations"]
    ]
    for plot in PLOTS:
        assert (output / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_two_iteration_digits_search(ray_session, tmp_path, tracking_uri, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    config = parse_config(
        [
            "--iterations",
            "2",
            "--m0",
            "3",
            "--epochs",
            "3",
            "--seed",
            "0",
            "--scoring-samples",
            "400",
            "--tracking-uri",
            tracking_uri,
            "--name",
            "it-test",
        ]
    )
    record = search(config)

    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name("stagewise-nas")
    parents = client.search_runs(
        [experiment.experiment_id], "tags.`nas.method` = 'stagewise' and attributes.run_name = 'it-test'"
    )
    (parent,) = [run for run in parents if PARENT_RUN_ID_TAG not in run.data.tags]
    assert parent.info.status == "FINISHED"
    assert parent.data.params["iterations"] == "2" and parent.data.params["train.epochs"] == "3"
    children = client.search_runs(
        [experiment.experiment_id], f"tags.`{PARENT_RUN_ID_TAG}` = '{parent.info.run_id}'"
    )

    importance_of = {}
    for child in children:
        depths = tuple(int(m) for m in child.data.params["depths"].split("-"))
        key = depths, int(child.data.params["init_seed"])
        importance_of[key] = [child.data.metrics[f"importance/s{i}"] for i in (1, 2, 3)]
        assert child.info.status == "FINISHED"
        assert child.info.run_name.endswith(child.data.params["depths"])
        history = client.get_metric_history(child.info.run_id, "val_accuracy")
        assert [m.step for m in history] == [1, 2, 3]
        assert child.data.metrics["params"] > 0 and child.data.metrics["macs"] > 0
        assert 0 <= child.data.metrics["test_accuracy"] <= 1
        for column in TABLE_III_METRICS:
            value = child.data.metrics[column]
            assert 0 < value < float("inf"), (column, value)
        artifacts = {a.path for a in client.list_artifacts(child.info.run_id)}
        assert {"architecture.json", "checkpoint.pt"} <= artifacts
        # where its time went: every phase measured, training as train_seconds
        phases = {k: v for k, v in child.data.metrics.items() if k.startswith("phase_seconds/")}
        assert phases["phase_seconds/train"] == pytest.approx(child.data.metrics["train_seconds"])
        assert phases["phase_seconds/setup"] > 0 and phases["phase_seconds/scoring"] > 0
        assert len(phases) == 8 and all(value >= 0 for value in phases.values())
        # on a CPU: fp32, NHWC (oneDNN), no compilation (it never pays off there), as tags
        assert child.data.tags["nas.train.precision"] == "fp32"
        assert child.data.tags["nas.train.channels_last"] == "true"
        assert child.data.tags["nas.train.compile"] == "off"
        # one thread each, also for a network that trains alone: on 8x8 images a second one would
        # not repay the new process (tests/unit/test_modules.py sees two on 16x16 images)
        assert child.data.tags["nas.train.threads"] == "1"

    roles, final = expected_trajectory((3, 3, 3), 2, 2, importance_of)
    recorded = {
        (
            tuple(int(m) for m in c.data.params["depths"].split("-")),
            int(c.data.params["init_seed"]),
        ): c.data.params["role"]
        for c in children
    }
    assert recorded == roles  # one run per network (depths and seed), never one trained twice
    assert len(recorded) >= 3  # A and T of iteration 1 and at least the next T
    assert record["depths"] == "-".join(map(str, final))

    parent_artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"candidates.csv", "final_architecture.json", "report.md", *PLOTS} <= parent_artifacts
    # written by the search as it ends, while its run is still RUNNING: a finished search's report
    own_report = client.download_artifacts(parent.info.run_id, "report.md", str(tmp_path))
    assert "Not a finished search" not in open(own_report).read()
    check_final_model_loads(client, parent, record, tmp_path)
    check_what_the_mlflow_ui_shows(tracking_uri, parent, children, record, tmp_path, capsys)
    check_overhead_split(client, parent, children)
    check_report_rebuilds(tracking_uri, parent, record, tmp_path, [child.info.run_name for child in children])
    local = client.download_artifacts(parent.info.run_id, "final_architecture.json", str(tmp_path))
    assert json.loads(open(local).read())["depths"] == record["depths"]
    assert (tmp_path / "nas_results" / "it-test" / "candidates.csv").exists()


def test_a_diverging_candidate_ends_the_search_in_one_line(ray_session, tmp_path, monkeypatch, capsys):
    """NaN loss: one retry, then exit 1 with one line naming the trial and the divergence; no
    Ray traceback on the console (it is in the trial's error.txt); the parent run FAILED.  Through
    the CLI's ``main`` in the session's Ray."""
    monkeypatch.chdir(tmp_path)
    status = run_main(
        ["--iterations", "3", "--m0", "1", "--epochs", "1", "--lr", "1e6", "--name", "diverges"]
    )
    captured = capsys.readouterr()
    done = SimpleNamespace(returncode=status, stdout=captured.out, stderr=captured.err)
    assert done.returncode == 1, done.stderr[-2000:]
    assert "Traceback" not in done.stderr + done.stdout
    last = done.stderr.strip().splitlines()[-1]
    assert re.search(
        r"error: search stopped: trial \w+ \(it1-[AT]-\d-\d-\d\) did not finish: "
        r"it failed \(FloatingPointError: training loss is nan at epoch 1: diverged\)",
        last,
    ), last
    assert "retrying from its last checkpoint" in done.stdout
    error_file = re.search(r"traceback in (\S+error\.txt)", done.stdout).group(1)
    assert "FloatingPointError" in Path(error_file).read_text()
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("stagewise-nas")
    runs = client.search_runs([experiment.experiment_id], "attributes.run_name = 'diverges'")
    assert [run.info.status for run in runs] == ["FAILED"]
