"""Every flag that every command offers reaches what the command runs: none is silently ignored.

Each command is run through its ``main`` with every one of its flags set to a value that is not
the default; the library function it hands the settings to is replaced by one that keeps them,
and each flag's value must be in them.  ``compare`` is followed one step further, into the
settings of every method it runs and the uniform networks it trains.  A new flag fails this
test until it has a value below, so that someone decides where it goes.
"""

from __future__ import annotations

import argparse

import pytest

import nas_service.api
import nas_service.methods.baselines
import nas_service.methods.comparison
import nas_service.methods.cross_dataset
import nas_service.methods.single
import nas_service.methods.stagewise
from nas_service.cli.arguments import OMITTED_KEY
from nas_service.cli.baselines import main as baselines_main
from nas_service.cli.compare import main as compare_main
from nas_service.cli.run import main as run_main
from nas_service.cli.train import main as train_main
from nas_service.cli.transfer_to import main as transfer_to_main
from nas_service.config import SearchConfig
from nas_service.methods.comparison import METHODS, method_config, uniform_networks
from trainables.datasets import load_dataset

# setting -> (the flag's text, the value the settings must then hold); none is a default
VALUES = {
    "dataset": ("idx", "idx"),
    "data_dir": ("/data/fashion", "/data/fashion"),
    "image_size": ("16", 16),
    "max_train_images": ("300", 300),
    "val_fraction": ("0.3", 0.3),
    "iterations": ("2", 2),
    "m0": ("2", 2),
    "stages": ("4", 4),
    "initial_depths": ("1-2-1-2", "1-2-1-2"),
    "delta": ("3", 3),
    "references": ("2,3", "2,3"),
    "module": ("bottleneck", "bottleneck"),
    "width": ("8", 8),
    "preset": ("paper", "paper"),
    "epochs": ("2", 2),
    "transfer_from": ("runs:/donor", "runs:/donor"),
    "finetune_epochs": ("1", 1),
    "transfer_to": ("digits", "digits"),
    "transfer_data_dir": ("/data/other", "/data/other"),
    "lr": ("0.03", 0.03),
    "batch_size": ("32", 32),
    "schedule": ("cosine", "cosine"),
    "criterion": ("inffs", "inffs"),
    "scoring_samples": ("100", 100),
    "bootstrap": ("30", 30),
    "score_seeds": ("2", 2),
    "min_confidence": ("0.6", 0.6),
    "on_no_growth": ("stop", "stop"),
    "max_macs": ("1e9", 1e9),
    "max_params": ("1e7", 1e7),
    "max_latency_ms": ("50", 50.0),
    "final_epochs": ("2", 2),
    "scoring_actors": ("3", 3),
    "seed": ("7", 7),
    "gpus_per_trial": ("0", 0.0),
    "cpus_per_trial": ("0.5", 0.5),
    "country": ("FRA", "FRA"),
    "precision": ("fp32", "fp32"),
    "compile": ("off", "off"),
    "budget_images": ("1e6", 1e6),
    "budget_gpu_hours": ("2", 2.0),
    "budget_kgco2": ("0.5", 0.5),
    "experiment": ("walk", "walk"),
    "name": ("walk", "walk"),
    "resume": (None, True),
    "progress_every": ("5", 5.0),
    "dashboard": (None, True),
    "workers_per_trial": ("2", 2),
}
# what the settings hold for the flags a command names differently (its own argument)
OWN_ARGUMENTS = {
    "train": (["--depths", "1-2-1-2"], {"initial_depths": "1-2-1-2", "stages": 4}),
    "transfer_to": (["--run-id", "donor"], {"transfer_from": "runs:/donor"}),
    "baselines": (["--method", "tpe", "--samples", "3"], {}),
}


def every_flag(command: str, main, tmp_path) -> tuple[list[str], dict]:
    """argv that sets every setting flag of ``command`` and what each must become."""
    offered = set(SearchConfig.__dataclass_fields__) - set(omitted_by(main))
    missing = offered - set(VALUES) - {"tracking_uri", "storage_path"}
    assert not missing, f"give the new flag(s) {missing} a value in VALUES"
    argv, expected = OWN_ARGUMENTS.get(command, ([], {}))
    (tmp_path / "walk.db").touch()  # --transfer-from runs:/... reads an existing store
    expected = {
        **expected,
        "tracking_uri": f"sqlite:///{tmp_path / 'walk.db'}",
        "storage_path": str(tmp_path / "results"),
    }
    argv = [*argv, "--tracking-uri", expected["tracking_uri"], "--storage-path", expected["storage_path"]]
    for key in sorted(offered - {"tracking_uri", "storage_path"}):
        if key == "resume":
            continue  # --resume takes everything from the saved search: walked on its own below
        text, value = VALUES[key]
        flag = "--" + key.replace("_", "-")
        argv += [flag] if text is None else [flag, text]
        expected[key] = value
    return argv, expected


def omitted_by(main) -> tuple[str, ...]:
    """The settings a command's parser leaves out, read from the parser it builds."""
    seen = {}
    original = argparse.ArgumentParser.parse_args

    def spy(self, *args, **kwargs):
        seen["omitted"] = self.get_default(OMITTED_KEY)
        raise SystemExit(0)

    argparse.ArgumentParser.parse_args = spy
    try:
        main([])
    except SystemExit:
        pass
    finally:
        argparse.ArgumentParser.parse_args = original
    return seen["omitted"]


@pytest.fixture
def captured(monkeypatch):
    """The library entry points replaced by recorders; data loading by digits."""
    calls: dict[str, tuple] = {}
    digits = load_dataset("digits", seed=0)
    monkeypatch.setattr(SearchConfig, "load_data", lambda self: digits)

    def search(config, data=None, costs=None):
        calls["search"] = (config,)
        return {"settings": config, "measures": {"mlflow_run_id": "found"}, "depths": "1-1-1"}

    monkeypatch.setattr(nas_service.methods.stagewise, "search", search)
    for module, name in (
        (nas_service.methods.baselines, "baseline"),
        (nas_service.methods.comparison, "compare"),
        (nas_service.methods.single, "train_one"),
        (nas_service.methods.cross_dataset, "transfer_found_network"),
    ):
        monkeypatch.setattr(
            module, name, lambda *args, name=name, **kwargs: calls.__setitem__(name, args) or {}
        )
    monkeypatch.setattr(nas_service.methods.cross_dataset, "transfer_started", lambda config: False)
    # the resource limits reach the searcher through the search's settings (checked there)
    monkeypatch.setattr(nas_service.api, "growth_costs", lambda config, data: None)
    return calls


def assert_reached(config: SearchConfig, expected: dict, skip: set = frozenset()) -> None:
    for key, value in expected.items():
        if key not in skip:
            assert getattr(config, key) == value, (key, getattr(config, key), value)


@pytest.mark.parametrize("command", ["run", "baselines", "train", "transfer_to"])
def test_every_flag_reaches_the_settings_the_command_runs(command, captured, tmp_path):
    main = {
        "run": run_main,
        "baselines": baselines_main,
        "train": train_main,
        "transfer_to": transfer_to_main,
    }[command]
    argv, expected = every_flag(command, main, tmp_path)
    assert main(argv) == 0
    if command == "run":
        (config,) = captured["search"]
        assert_reached(config, expected)
        target, _ = captured["transfer_found_network"]  # --transfer-to: the same protocol there
        assert (target.dataset, target.data_dir) == ("digits", "/data/other")
        assert_reached(
            target,
            expected,
            skip={
                "dataset",
                "data_dir",
                "transfer_to",
                "transfer_data_dir",
                "transfer_from",
                "name",
                "image_size",
                "val_fraction",
            },
        )
    else:
        name = {"baselines": "baseline", "train": "train_one", "transfer_to": "transfer_found_network"}[
            command
        ]
        config, *rest = captured[name]
        assert_reached(config, expected)
        if command == "baselines":
            assert rest[:2] == ["tpe", 3]
    # a setting the command does not offer is refused in a --config file as well
    if command != "run":
        omitted = omitted_by(main)
        (tmp_path / "c.yaml").write_text(f"{omitted[0]}: 1\n")
        assert main(["--config", str(tmp_path / "c.yaml"), *argv]) == 2


def test_every_compare_flag_reaches_every_method_and_the_uniform_networks(captured, tmp_path):
    argv, expected = every_flag("compare", compare_main, tmp_path)
    assert compare_main([*argv, "--study", "2", "--searches-at-once", "1"]) == 0
    config, seeds, data, at_most = captured["compare"]
    assert seeds == [7, 8] and at_most == 1  # --study 2 from --seed 7, one after the other
    for method in METHODS:
        settings = method_config(config, 8, method, budget_images=123.0)
        assert settings.seed == 8 and settings.name == f"walk-s8-{method}"
        assert settings.budget_images == (expected["budget_images"] if method == "stagewise" else 123.0)
        # references are trained once per seed beside the methods, not inside stage-wise
        assert_reached(settings, expected, skip={"seed", "name", "budget_images", "references"})
    assert set(uniform_networks(config, data, {})) == {"2-2-2-2", "3-3-3-3"}


@pytest.mark.parametrize("command", ["run", "baselines", "train", "transfer_to"])
def test_resume_reads_only_where_the_search_lives_and_refuses_the_rest(command, captured, tmp_path, capsys):
    main = {
        "run": run_main,
        "baselines": baselines_main,
        "train": train_main,
        "transfer_to": transfer_to_main,
    }[command]
    where = [
        "--resume",
        "--name",
        "walk",
        "--tracking-uri",
        f"sqlite:///{tmp_path / 'w.db'}",
        "--storage-path",
        str(tmp_path),
        "--experiment",
        "walk",
        *(["--method", "tpe"] if command == "baselines" else []),
    ]
    (tmp_path / "w.db").touch()  # the store and the Tune folder of the search to resume
    (tmp_path / "walk").mkdir()
    assert main(where) == 0
    name = {
        "run": "search",
        "baselines": "baseline",
        "train": "train_one",
        "transfer_to": "transfer_found_network",
    }[command]
    config = captured[name][0]
    assert config.resume and (config.name, config.experiment) == ("walk", "walk")
    assert main([*where, "--epochs", "3"]) == 2
    assert "--epochs 3: --resume continues with the search's saved settings" in capsys.readouterr().err
