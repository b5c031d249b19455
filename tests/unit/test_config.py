import http.server
import threading

import pytest

from nas_service.cli.arguments import parse_config
from nas_service.config import SearchConfig
from nas_service.core.errors import ConfigError


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def test_defaults_are_the_embedded_search(tmp_path):
    config = parse_config([])
    assert (config.dataset, config.preset, config.criterion) == ("digits", "quick", "plsvip")
    assert config.start_depths == (6, 6, 6) and config.delta == 2 and config.iterations == 5
    assert config.tracking_uri == f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert config.storage_path == str(tmp_path / "nas_results")
    assert config.training().epochs == 10


def test_references_are_uniform_networks_of_every_stage():
    config = parse_config(["--references", "7,9", "--stages", "4", "--country", "fra"])
    assert config.reference_depths == [(7, 7, 7, 7), (9, 9, 9, 9)]
    assert config.country == "FRA"


def test_yaml_then_flags(tmp_path):
    (tmp_path / "search.yaml").write_text("m0: 4\ninitial-depths: 2-3-4\nepochs: 3\nlr: 0.5\n")
    config = parse_config(["--config", "search.yaml", "--epochs", "7"])
    assert config.start_depths == (2, 3, 4)
    assert config.training().epochs == 7 and config.training().lr == 0.5
    assert config.to_params()["train.epochs"] == 7


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--m0", "0"], "--m0 0"),
        (["--delta", "-2"], "--delta -2"),
        (["--iterations", "0"], "--iterations 0"),
        (["--epochs", "0"], "--epochs 0"),
        (["--dataset", "mnist3"], "--dataset 'mnist3'"),
        (["--criterion", "foo"], "--criterion 'foo'"),
        (["--module", "cell9"], "--module 'cell9'"),
        (["--preset", "slow"], "--preset 'slow'"),
        (["--gpus-per-trial", "-1"], "--gpus-per-trial -1"),
        (["--cpus-per-trial", "0"], "--cpus-per-trial 0"),
        (["--initial-depths", "6-x-6"], "6-x-6"),
        (["--lr", "0"], "--lr 0"),
        (["--country", "XYZ"], "--country 'XYZ'"),
        (["--references", "7,x"], "--references '7,x'"),
        (["--references", "0"], "--references '0'"),
        (["--precision", "fp8"], "--precision 'fp8'"),
        (["--compile", "yes"], "--compile 'yes'"),
    ],
)
def test_bad_values_name_the_flag_and_value(argv, message):
    with pytest.raises(ConfigError) as error:
        parse_config(argv)
    assert message in str(error.value)


@pytest.mark.parametrize(
    "text,message",
    [
        ("epochs: [1\n", "not valid YAML"),
        ("epoch: 3\n", "unknown key 'epoch'"),
        ("- 1\n- 2\n", "mapping"),
        ("m0: two\n", "--m0 'two'"),
        ("m0: 2.5\n", "--m0 2.5"),
    ],
)
def test_bad_config_files(tmp_path, text, message):
    (tmp_path / "bad.yaml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        parse_config(["--config", "bad.yaml"])


def test_missing_config_file():
    with pytest.raises(ConfigError, match="--config nothere.yaml"):
        parse_config(["--config", "nothere.yaml"])


def test_unwritable_storage_path(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="--storage-path"):
        parse_config(["--storage-path", str(blocker / "sub")])


def test_baseline_and_compare_flags_fail_before_ray(capsys):
    from nas_service.cli.baselines import main as baselines_main
    from nas_service.cli.compare import main as compare_main

    assert baselines_main(["--method", "random"]) == 2
    assert "--samples or --budget-images" in capsys.readouterr().err
    assert baselines_main(["--method", "asha", "--samples", "0"]) == 2
    assert "--samples 0" in capsys.readouterr().err
    assert compare_main(["--seeds", "0,x"]) == 2
    assert "--seeds '0,x'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        baselines_main(["--method", "grid"])
    assert exit_info.value.code == 2
    # methods that choose by validation accuracy need a validation split
    assert baselines_main(["--method", "asha", "--samples", "4", "--val-fraction", "0"]) == 2
    assert "--val-fraction 0.0: this command chooses" in capsys.readouterr().err
    assert compare_main(["--val-fraction", "0"]) == 2
    assert "only the stage-wise search" in capsys.readouterr().err
    # and stage-wise-only decisions are not offered where nothing decides
    with pytest.raises(SystemExit):
        baselines_main(["--method", "random", "--samples", "2", "--on-no-growth", "stop"])
    assert "unrecognized arguments: --on-no-growth" in capsys.readouterr().err
    # nor flags that would make the comparison unequal, nor search settings for one network
    for main, argv, flag in (
        (compare_main, ["--max-macs", "1e6"], "--max-macs"),
        (compare_main, ["--final-epochs", "2"], "--final-epochs"),
        (baselines_main, ["--method", "tpe", "--criterion", "ilfs"], "--criterion"),
    ):
        with pytest.raises(SystemExit):
            main(argv)
        assert f"unrecognized arguments: {flag}" in capsys.readouterr().err
    assert compare_main(["--study", "2", "--seeds", "0,1"]) == 2
    assert "--study 2 and --seeds 0,1: give one of them" in capsys.readouterr().err
    assert compare_main(["--criteria", "plsvip,ilfs", "--study"]) == 2
    assert "--criteria runs one search per criterion" in capsys.readouterr().err
    assert compare_main(["--m0s", "1,2", "--seeds", "0,1"]) == 2
    assert "--m0s runs one search per m0" in capsys.readouterr().err
    assert compare_main(["--m0s", "1,2", "--criteria", "plsvip,ilfs"]) == 2
    assert "--criteria and --m0s: give one of them" in capsys.readouterr().err
    assert compare_main(["--m0s", "1,2", "--initial-depths", "1-2-3"]) == 2
    assert "--m0s sets each search's first architecture" in capsys.readouterr().err
    assert compare_main(["--m0s", "0,2"]) == 2
    assert "--m0s '0,2': must be distinct positive integers" in capsys.readouterr().err
    assert compare_main(["--searches-at-once", "0"]) == 2
    assert "--searches-at-once 0: must be at least 1" in capsys.readouterr().err
    # data-parallel workers split the global batch evenly and hold whole GPUs
    for argv, message in (
        (["--workers-per-trial", "0"], "--workers-per-trial 0: must be at least 1"),
        (
            ["--workers-per-trial", "3", "--batch-size", "64"],
            "--workers-per-trial 3: must divide the batch size 64",
        ),
        (
            ["--workers-per-trial", "2", "--gpus-per-trial", "0.5"],
            "--gpus-per-trial 0.5: must be 0 or a whole number of GPUs",
        ),
    ):
        assert compare_main(argv) == 2
        assert message in capsys.readouterr().err


class HealthyServer(http.server.BaseHTTPRequestHandler):
    """Answers /health as an MLflow server does."""

    def do_GET(self):
        self.send_response(200 if self.path == "/health" else 404)
        self.end_headers()
        self.wfile.write(b"OK")

    def log_message(self, *args):
        pass


@pytest.fixture
def tracking_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), HealthyServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_cluster_settings_come_from_the_environment(tmp_path, monkeypatch, tracking_server):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_server)
    monkeypatch.setenv("NAS_STORAGE_PATH", str(tmp_path / "shared"))
    config = parse_config([])
    assert config.tracking_uri == tracking_server
    assert config.storage_path == str(tmp_path / "shared")
    remote = f"file://{tmp_path}/remote"  # a URI, kept as given (Tune writes through pyarrow)
    assert parse_config(["--storage-path", remote]).storage_path == remote


def test_a_home_folder_in_paths_is_expanded(tmp_path, monkeypatch):
    """``--data-dir=~/data`` (the shell leaves ``~`` there) and YAML paths mean the home folder."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "search.yaml").write_text("transfer-data-dir: ~/other\n")
    config = parse_config(
        [
            "--config",
            str(tmp_path / "search.yaml"),
            "--dataset",
            "idx",
            "--data-dir=~/fashion",
            "--transfer-to",
            "idx",
            "--storage-path",
            "~/results",
        ]
    )
    assert config.data_dir == str(tmp_path / "fashion")
    assert config.transfer_data_dir == str(tmp_path / "other")
    assert config.storage_path == str(tmp_path / "results")
    assert not (tmp_path / "results").exists()  # made by the search, not by checking flags


def test_a_ray_job_never_writes_into_rays_copy_of_its_working_dir(tmp_path, monkeypatch, tracking_server):
    """Under ``ray job submit --working-dir`` the working directory is Ray's temporary copy of
    the job's files (the job's config names a working_dir): the results folder and a local
    MLflow store, which default to it, are refused there; elsewhere, or outside such a job, the
    same flags pass.  (tests/cluster/test_cluster.py submits a real job.)"""
    copy, shared = tmp_path / "_ray_pkg_0123", tmp_path / "shared"
    (copy / "sub").mkdir(parents=True)
    shared.mkdir()
    monkeypatch.chdir(copy)
    elsewhere = ["--storage-path", str(shared), "--tracking-uri", f"sqlite:///{shared / 'm.db'}"]
    monkeypatch.setenv("RAY_JOB_CONFIG_JSON_ENV_VAR", '{"runtime_env": {"env_vars": {}}}')
    assert parse_config([]).storage_path == str(copy / "nas_results")  # a job without one
    monkeypatch.setenv(
        "RAY_JOB_CONFIG_JSON_ENV_VAR", '{"runtime_env": {"working_dir": "gcs://_ray_pkg_0123.zip"}}'
    )
    for argv, flag, value in [
        ([], "--storage-path", copy / "nas_results"),
        (["--storage-path", "out"], "--storage-path", copy / "out"),
        (["--storage-path", str(shared)], "--tracking-uri", f"sqlite:///{copy / 'mlflow.db'}"),
        (
            ["--storage-path", str(shared), "--tracking-uri", "sqlite:///sub/../m.db"],
            "--tracking-uri",
            "sqlite:///sub/../m.db",
        ),
        (
            ["--storage-path", str(shared), "--tracking-uri", f"file://{copy}/runs"],
            "--tracking-uri",
            f"file://{copy}/runs",
        ),
    ]:
        with pytest.raises(ConfigError) as refused:
            parse_config(argv)
        assert str(refused.value).startswith(
            f"{flag} {value}: inside {copy}, Ray's temporary copy of this job's --working-dir"
        )
    for allowed in (elsewhere, ["--storage-path", str(shared), "--tracking-uri", tracking_server]):
        assert parse_config(allowed).storage_path == str(shared)


def test_the_rules_declared_with_each_setting_are_the_checks_and_the_help():
    """Ranges, choices and the settings a setting needs are declared once, with the setting:
    validation applies them with their messages, and --help shows the choices."""
    from dataclasses import fields

    from nas_service.cli.arguments import build_parser
    from nas_service.validation import validate

    with_choices = {
        declared.name: rule.choices
        for declared in fields(SearchConfig)
        for rule in declared.metadata["rules"]
        if rule.choices
    }
    assert with_choices == {
        "preset": ("paper", "quick"),
        "schedule": ("step", "cosine"),
        "on_no_growth": ("retrain", "stop"),
        "precision": ("auto", "bf16", "fp32"),
        "compile": ("auto", "on", "off"),
    }
    assert "--preset {paper,quick}" in build_parser().format_help()
    for settings, message in [
        ({"epochs": 0}, "--epochs 0: must be at least 1"),
        ({"lr": -0.1}, "--lr -0.1: must be positive"),
        ({"scoring_samples": 9}, "--scoring-samples 9: must be at least 10"),
        ({"precision": "fp8"}, "--precision 'fp8': must be one of auto, bf16, fp32"),
        ({"transfer_data_dir": "x"}, "--transfer-data-dir 'x': needs --transfer-to"),
        ({"finetune_epochs": 0}, "--finetune-epochs 0: needs --transfer-from or --transfer-to"),
        ({"resume": True}, "--resume True: needs --name, the name of the search to continue"),
    ]:
        with pytest.raises(ConfigError) as raised:
            validate(SearchConfig(**settings))
        assert str(raised.value) == message
