"""What users do with a finished search: export its network in every format and load it back
(TorchScript and torch.export files in a process where this package cannot be imported), and
ensemble its best candidates."""

import subprocess
import sys

import mlflow.pytorch
import numpy as np
import pytest
import torch
from mlflow.tracking import MlflowClient

from nas_service.cli.arguments import parse_config
from nas_service.cli.export import main as export_main
from nas_service.methods.stagewise import search
from nas_service.tracking.tags import FINAL_RUN_ID_TAG
from trainables.models import build_model
from trainables.spec import ArchSpec

BLOCK_PACKAGE = "import sys\nfor name in ('nas_service', 'trainables', 'scoring'): sys.modules[name] = None\n"


@pytest.fixture(scope="module")
def found(ray_session, tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    record = search(
        parse_config(
            [
                "--iterations",
                "1",
                "--m0",
                "1",
                "--epochs",
                "1",
                "--name",
                "export",
                "--storage-path",
                str(folder),
                "--tracking-uri",
                uri,
                "--scoring-samples",
                "100",
            ]
        )
    )
    mlflow.set_tracking_uri(uri)
    try:
        model = mlflow.pytorch.load_model(record["model_uri"]).eval()
    finally:
        mlflow.set_tracking_uri(None)
    images = torch.from_numpy(np.random.default_rng(0).normal(size=(3, 1, 8, 8)).astype("float32"))
    with torch.no_grad():
        logits = model(images).numpy()
    return {
        "uri": uri,
        "parent": record["parent_run_id"],
        "images": images,
        "logits": logits,
        "model_uri": record["model_uri"],
    }


def run_elsewhere(code: str, tmp_path) -> np.ndarray:
    """Run ``code`` (which writes out.npy) where nas_service/trainables cannot be imported."""
    np.save(tmp_path / "images.npy", np.zeros(1))
    subprocess.run(
        [sys.executable, "-c", BLOCK_PACKAGE + code],
        cwd=tmp_path,
        check=True,
        timeout=120,
        capture_output=True,
    )
    return np.load(tmp_path / "out.npy")


@pytest.mark.parametrize(
    "fmt,load",
    [
        ("torchscript", "torch.jit.load('net')"),
        ("pt2", "torch.export.load('net').module()"),
    ],
)
def test_standalone_formats_run_without_the_package(found, tmp_path, fmt, load):
    assert (
        export_main(
            [
                "--run-id",
                found["parent"],
                "--format",
                fmt,
                "--output",
                str(tmp_path / "net"),
                "--tracking-uri",
                found["uri"],
            ]
        )
        == 0
    )
    np.save(tmp_path / "x.npy", found["images"].numpy())
    out = run_elsewhere(
        "import numpy as np, torch\n"
        f"net = {load}\n"
        "x = torch.from_numpy(np.load('x.npy'))\n"
        "np.save('out.npy', net(x).detach().numpy())\n",
        tmp_path,
    )
    np.testing.assert_allclose(out, found["logits"], atol=1e-5)


def test_state_dict_folder_rebuilds_with_the_package(found, tmp_path):
    export_main(
        [
            "--run-id",
            found["parent"],
            "--format",
            "state_dict",
            "--output",
            str(tmp_path / "net"),
            "--tracking-uri",
            found["uri"],
        ]
    )
    spec = ArchSpec.from_dict(__import__("json").loads((tmp_path / "net" / "architecture.json").read_text()))
    model = build_model(spec)
    model.load_state_dict(torch.load(tmp_path / "net" / "state_dict.pt", weights_only=True))
    with torch.no_grad():
        np.testing.assert_allclose(model.eval()(found["images"]).numpy(), found["logits"], atol=1e-5)


def test_register_makes_versions_of_the_logged_model_under_an_alias(found, tmp_path):
    client = MlflowClient(found["uri"])
    final_run = client.get_run(found["parent"]).data.tags[FINAL_RUN_ID_TAG]
    candidate = next(
        run
        for run in client.search_runs(
            [client.get_run(final_run).info.experiment_id], f"tags.`mlflow.parentRunId` = '{found['parent']}'"
        )
        if run.info.run_id != final_run
    )
    export_main(
        [
            "--run-id",
            found["parent"],
            "--format",
            "mlflow",
            "--output",
            str(tmp_path / "net"),
            "--tracking-uri",
            found["uri"],
            "--register",
            "found-net",
        ]
    )
    # another candidate, which has no logged model yet, becomes version 2 under its own alias
    export_main(
        [
            "--run-id",
            candidate.info.run_id,
            "--format",
            "state_dict",
            "--output",
            str(tmp_path / "other"),
            "--tracking-uri",
            found["uri"],
            "--register",
            "found-net",
            "--alias",
            "challenger",
        ]
    )
    versions = {str(v.version): v for v in client.search_model_versions("name='found-net'")}
    assert sorted(versions) == ["1", "2"]
    logged = client.get_logged_model(found["model_uri"].removeprefix("models:/"))
    assert versions["1"].source == logged.artifact_location  # the search's logged model
    assert versions["1"].run_id == final_run and versions["2"].run_id == candidate.info.run_id
    aliases = client.get_registered_model("found-net").aliases
    assert {alias: str(version) for alias, version in aliases.items()} == {"champion": "1", "challenger": "2"}
    mlflow.set_tracking_uri(found["uri"])
    try:
        model = mlflow.pytorch.load_model("models:/found-net@champion").eval()
    finally:
        mlflow.set_tracking_uri(None)
    with torch.no_grad():
        np.testing.assert_allclose(model(found["images"]).numpy(), found["logits"], atol=1e-5)
    assert (tmp_path / "net" / "MLmodel").exists()


def test_the_mlflow_folder_loads_with_the_network_code_it_carries(found, tmp_path):
    """The pickled network's classes come from the folder's own copy of ``trainables``."""
    export_main(
        [
            "--run-id",
            found["parent"],
            "--format",
            "mlflow",
            "--output",
            str(tmp_path / "net"),
            "--tracking-uri",
            found["uri"],
        ]
    )
    np.save(tmp_path / "x.npy", found["images"].numpy())
    code = (
        "import mlflow.pytorch, numpy as np, torch, sys\n"
        "net = mlflow.pytorch.load_model('net').eval()\n"
        "x = torch.from_numpy(np.load('x.npy'))\n"
        "np.save('out.npy', net(x).detach().numpy())\n"
        "print(sys.modules['trainables'].__file__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, check=True, timeout=120, capture_output=True, text=True
    )
    assert done.stdout.strip().startswith(str(tmp_path / "net" / "code" / "trainables"))
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), found["logits"], atol=1e-5)


def test_a_bad_alias_is_refused_before_any_work(found, capsys):
    for flags, message in (
        (["--alias", "v2", "--register", "x"], "--alias v2: reserved"),
        (["--alias", "a b", "--register", "x"], "--alias 'a b': use 1 to 255"),
        (["--alias", "prod"], "--alias prod: needs --register NAME"),
    ):
        assert (
            export_main(
                ["--run-id", found["parent"], "--format", "pt2", "--tracking-uri", found["uri"], *flags]
            )
            == 2
        )
        assert message in capsys.readouterr().err


def test_an_unknown_run_is_a_clear_error(found, capsys):
    assert (
        export_main(["--run-id", "0123456789abcdef", "--format", "pt2", "--tracking-uri", found["uri"]]) == 2
    )
    assert "--run-id '0123456789abcdef': no such MLflow run" in capsys.readouterr().err


def test_ensemble_of_the_best_candidates(found):
    from nas_service.reporting.ensemble import ensemble

    record = ensemble(found["uri"], top=2, run_id=found["parent"])
    client = MlflowClient(found["uri"])
    children = {
        r.info.run_name: r
        for r in client.search_runs(
            [client.get_run(found["parent"]).info.experiment_id],
            f"tags.`mlflow.parentRunId` = '{found['parent']}'",
        )
    }
    best_two = sorted(children.values(), key=lambda r: -r.data.metrics["val_accuracy"])[:2]
    assert record["members"] == [r.info.run_name for r in best_two]
    # the test split is rebuilt from the saved settings: members score what their runs logged
    for name, accuracy in zip(record["members"], record["member_test_accuracy"], strict=True):
        assert accuracy == pytest.approx(children[name].data.metrics["test_accuracy"], abs=1e-9)
    assert record["params"] == sum(int(children[n].data.metrics["params"]) for n in record["members"])
    assert 0 < record["test_accuracy"] <= 1
    runs = client.search_runs(
        [client.get_run(found["parent"]).info.experiment_id], "tags.`nas.method` = 'ensemble'"
    )
    assert runs[0].data.metrics["test_accuracy"] == pytest.approx(record["test_accuracy"])
