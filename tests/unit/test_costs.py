"""What a network costs without building it equals what the built network measures."""

import pytest

from trainables.metrics.costs import estimated_size
from trainables.metrics.size import count_macs, count_parameters
from trainables.models import build_model
from trainables.spec import ArchSpec


@pytest.mark.parametrize(
    "spec",
    [
        ArchSpec((7, 2, 5), in_channels=1, image_size=8, num_classes=10),
        ArchSpec((5, 1, 6), module="bottleneck", widths=(8, 16, 32), image_size=32),
        ArchSpec((6, 1, 5), module="nasnet", widths=(8, 16, 32), image_size=16),
        ArchSpec((2, 2, 2), module="nasnet", widths=(8, 16, 32), image_size=16),
    ],
    ids=["basic", "bottleneck", "nasnet", "nasnet below the anchor"],
)
def test_the_estimate_is_the_built_networks_size(spec):
    model = build_model(spec)
    assert estimated_size(spec) == {
        "macs": count_macs(model, spec.in_channels, spec.image_size),
        "params": count_parameters(model),
    }


def test_cpu_cost_warnings_name_what_is_extreme(tmp_path, monkeypatch):
    from nas_service.cli.arguments import parse_config
    from nas_service.limits import cpu_cost_warnings

    monkeypatch.chdir(tmp_path)

    def warnings(*argv):
        config = parse_config(list(argv))
        return cpu_cost_warnings(config, config.load_data())

    assert warnings() == []  # the README search: 16-16-16 at most, 1,078 images x 10 epochs
    (wide,) = warnings("--width", "4000")
    assert (
        wide.startswith("the deepest network this search may train, 16-16-16 (width 4000), has ")
        and "MACs per 8x8 image" in wide
    )
    (long,) = warnings("--epochs", "1000")
    assert long.startswith("1078 training images x 1000 epochs = 1.08e+06 image-epochs")
    (deep,) = warnings("--m0", "1000", "--iterations", "1")  # delta 2
    assert deep.startswith(
        "the deepest network this search may train, 1002-1002-1002, has 3006 "
        "modules: building it alone takes minutes"
    )


def test_cost_warnings_name_idle_processes_and_budgets_below_one_epoch(tmp_path, monkeypatch):
    from nas_service.cli.arguments import parse_config
    from nas_service.limits import cost_warnings

    monkeypatch.chdir(tmp_path)

    def warnings(*argv, cpus=2.0):
        config = parse_config(list(argv))
        return cost_warnings(config, config.load_data(), cpus)

    assert warnings() == [] and warnings("--scoring-actors", "4") == []
    (actors,) = warnings("--scoring-actors", "1000", cpus=16)
    assert actors.startswith(
        "--scoring-actors 1000: each is a Ray worker process and the "
        "cluster has 16 CPUs, so at most about 32 can score at once"
    )
    (budget,) = warnings("--budget-images", "1")
    assert budget == (
        "--budget-images 1 is less than one epoch of one network (1078 training "
        "images): the search stops after its first epoch, before it can compare "
        "any networks"
    )
    assert warnings("--budget-images", "1078") == []
