"""The comparison's settings: the depth space stage-wise can reach, the --criteria and --m0s lists,
and the m0 sweep the CLI sets up (its searches replaced)."""

import pytest

from nas_service.cli.compare import main as compare_main
from nas_service.cli.compare import parse_criteria, parse_m0s
from nas_service.core.errors import ConfigError
from nas_service.core.space import DepthSpace
from nas_service.methods import variants


def test_space_holds_every_depth_stagewise_can_reach():
    space = DepthSpace.reachable_by_stagewise((6, 6, 6), delta=2, iterations=5)
    assert space.choices == [6, 8, 10, 12, 14, 16]
    assert space.contains((16, 6, 16)) and not space.contains((18, 6, 6))
    assert space.size == 6**3


@pytest.mark.parametrize("text", ["plsvip,gini", "plsvip,plsvip", ""])
def test_bad_criteria_lists_name_the_flag(text):
    with pytest.raises(ConfigError, match="--criteria"):
        parse_criteria(text)


def test_m0_sweep_is_one_stagewise_search_per_first_depth(monkeypatch, tmp_path):
    """The paper's Table I through the CLI: the searches ``compare_variants`` runs (end to end,
    side by side, in the criteria test above), one per m0 in the order given."""
    seen = {}

    def variants_run(config, column, variants, data, files, at_most):
        seen.update(
            column=column,
            files=files,
            data=data,
            at_most=at_most,
            variants={
                label: (variant.start_depths, variant.name, variant.criterion, variant.seed)
                for label, variant in variants.items()
            },
        )

    monkeypatch.setattr(variants, "compare_variants", variants_run)
    monkeypatch.chdir(tmp_path)
    assert (
        compare_main(
            [
                "--m0s",
                "3,1",
                "--iterations",
                "2",
                "--name",
                "sweep",
                "--criterion",
                "ilfs",
                "--seed",
                "4",
                "--searches-at-once",
                "1",
                "--tracking-uri",
                f"sqlite:///{tmp_path / 'mlflow.db'}",
            ]
        )
        == 0
    )
    assert seen["column"] == "m0" and seen["files"].stem == "m0" and seen["at_most"] == 1
    assert "Table I" in seen["files"].title and seen["data"].name == "digits"
    assert seen["variants"] == {
        "3": ((3, 3, 3), "sweep-m0-3", "ilfs", 4),
        "1": ((1, 1, 1), "sweep-m0-1", "ilfs", 4),
    }


@pytest.mark.parametrize("text", ["0,1", "1,1", "1,two", ""])
def test_bad_m0_lists_name_the_flag(text):
    with pytest.raises(ConfigError, match="--m0s"):
        parse_m0s(text)
