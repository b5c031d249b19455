"""The Python API's settings: ``search(SearchConfig(...))`` refuses bad settings like the command
line, before Ray; ``resolve`` leaves the caller's config alone; the package exports what it
names; the README shows ``examples/python_api.py`` as it is."""

from __future__ import annotations

from pathlib import Path

import pytest

import nas_service
from nas_service import ConfigError, SearchConfig, resolve, search

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "python_api.py"


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"epochs": 0}, "--epochs 0: must be at least 1"),
        ({"dataset": "nope"}, "--dataset 'nope': must be one of digits"),
        ({"epochs": "3x"}, "--epochs '3x': must be int"),
        ({"lr": float("nan")}, "--lr nan: must be a finite number"),
        (
            {"resume": True, "name": "x", "epochs": 3},
            "--epochs 3: --resume continues with the search's saved settings",
        ),
    ],
)
def test_bad_settings_raise_the_command_lines_error_before_ray(settings, message):
    with pytest.raises(ConfigError) as raised:
        search(SearchConfig(**settings))
    assert str(raised.value).startswith(message)
    with pytest.raises(ConfigError) as as_keywords:  # the same through keywords
        search(**settings)
    assert str(as_keywords.value) == str(raised.value)


def test_resolving_returns_a_new_config_and_leaves_the_callers_alone(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    mine = SearchConfig(dataset="digits", country="fra", data_dir=None)
    resolved = resolve(mine)
    assert (mine.country, mine.m0, mine.name, mine.tracking_uri) == ("fra", None, None, None)
    assert resolved.country == "FRA" and resolved.m0 == 6 and resolved.stages == 3
    assert resolved.name.startswith("stagewise-digits-")
    assert resolved.tracking_uri == f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert resolved.storage_path == str(tmp_path / "nas_results")


def test_the_package_exports_only_what_it_names():
    assert set(nas_service.__all__) <= set(dir(nas_service))
    with pytest.raises(AttributeError, match="no attribute 'serch'"):
        nas_service.serch  # noqa: B018


def test_the_readme_shows_the_example_as_it_is():
    readme = (ROOT / "README.md").read_text()
    code = EXAMPLE.read_text().split('"""', 2)[2].strip()
    assert code in readme
