"""A found network on another data set (``--transfer-to``, ``nas_service.cli.transfer_to``): what the
fine-tuned copy takes from the search's weights and the uniform network of closest MACs (a real
search then transfer: tests/integration/test_cross_dataset_search.py)."""

import importlib
from types import SimpleNamespace

import pytest
import torch

from nas_service.methods.cross_dataset import transfer_trials
from trainables.metrics.size import count_macs
from trainables.metrics.uniform import closest_uniform_depths
from trainables.models import build_model
from trainables.spec import ArchSpec
from trainables.transfer import Donor, adapt_input_conv, transfer_weights


def donor_of(spec: ArchSpec, seed: int = 1) -> Donor:
    torch.manual_seed(seed)
    return Donor(spec, build_model(spec).state_dict())


@pytest.mark.parametrize("have,want", [(1, 3), (3, 1)])
def test_an_adapted_input_conv_answers_a_grey_image_as_the_donor_did(have, want):
    """A grey image is the same plane in every channel; the adapted kernel gives the donor's
    response to it (timm's adapt_input_conv rule)."""
    torch.manual_seed(0)
    weight = torch.randn(16, have, 3, 3)
    adapted = adapt_input_conv(weight, want)
    assert adapted.shape == (16, want, 3, 3)
    grey = torch.randn(1, 1, 8, 8)
    expected = torch.nn.functional.conv2d(grey.expand(1, have, 8, 8), weight)
    got = torch.nn.functional.conv2d(grey.expand(1, want, 8, 8), adapted)
    assert torch.allclose(got, expected, atol=1e-5)


def test_a_new_task_keeps_every_stage_module_and_adapts_the_stem():
    donor = donor_of(ArchSpec(depths=(2, 1, 1), in_channels=1, image_size=8)).for_new_task()
    torch.manual_seed(5)
    candidate = build_model(ArchSpec(depths=(2, 1, 1), in_channels=3, image_size=32))
    fresh_head = candidate.head.weight.detach().clone()  # same class count: still not copied
    copied = transfer_weights(candidate, donor)
    state = candidate.state_dict()
    assert torch.equal(state["head.weight"], fresh_head) and "head.weight" not in copied
    assert torch.allclose(state["stem.0.weight"], donor.state["stem.0.weight"].repeat(1, 3, 1, 1) / 3)
    stage_keys = [k for k in state if k.startswith("stages.")]
    assert stage_keys and all(torch.equal(state[k], donor.state[k]) for k in stage_keys)
    assert set(copied) == {k for k in state if not k.startswith("head.")}


def test_a_stem_of_another_shape_starts_fresh_as_a_whole():
    """The 3x3 stem of a 32 px network does not fit 64 px images (7x7 stem): conv and its BN stay
    fresh together; the stages still come from the donor."""
    donor = donor_of(ArchSpec(depths=(1, 1, 1), image_size=32)).for_new_task()
    candidate = build_model(ArchSpec(depths=(1, 1, 1), image_size=64))
    copied = transfer_weights(candidate, donor)
    assert not any(name.startswith("stem.") for name in copied)
    assert any(name.startswith("stages.2.") for name in copied)


@pytest.mark.parametrize(
    "spec",
    [
        ArchSpec(depths=(5, 9, 2)),
        ArchSpec(depths=(1, 7, 1), in_channels=1, image_size=28),
        ArchSpec(depths=(1, 3, 2, 1), module="bottleneck", image_size=16, widths=(8, 16, 32, 64)),
    ],
)
def test_the_closest_uniform_network_is_the_brute_force_minimum(spec):
    def distance(m):
        uniform = build_model(spec.with_depths((m,) * spec.num_stages))
        return abs(
            count_macs(uniform, spec.in_channels, spec.image_size)
            - count_macs(build_model(spec), spec.in_channels, spec.image_size)
        )

    best = min(range(1, 12), key=distance)
    assert closest_uniform_depths(spec) == (best,) * spec.num_stages


def test_transfer_trials_train_the_found_network_twice_then_distinct_references():
    trials = transfer_trials((4, 6, 2), [(4, 4, 4), (9, 9, 9), (4, 4, 4)], epochs=10, finetune_epochs=3)
    assert [(t["role"], t["depths"], t["init"], t["epochs"]) for t in trials] == [
        ("scratch", [4, 6, 2], "scratch", 10),
        ("finetuned", [4, 6, 2], "donor", 3),
        ("reference", [4, 4, 4], "scratch", 10),
        ("reference", [9, 9, 9], "scratch", 10),
    ]


@pytest.mark.parametrize(
    "module,argv,fragment",
    [
        ("transfer_to", [], "required: --run-id"),
        ("transfer_to", ["--run-id", "nosuchrun"], "no MLflow store there"),  # none in tmp_path
        ("transfer_to", ["--run-id", "x", "--transfer-from", "y"], "unrecognized arguments: --transfer-from"),
        ("train", ["--depths", "2-2-2", "--transfer-to", "idx"], "unrecognized arguments: --transfer-to"),
        (
            "baselines",
            ["--method", "random", "--transfer-to", "idx"],
            "unrecognized arguments: --transfer-to",
        ),
    ],
)
def test_entry_points_refuse_transfer_flags_they_would_ignore(
    tmp_path, monkeypatch, capsys, module, argv, fragment
):
    monkeypatch.chdir(tmp_path)
    try:
        status = importlib.import_module(f"nas_service.cli.{module}").main(argv)
    except SystemExit as stop:  # argparse's own errors
        status = stop.code
    done = SimpleNamespace(returncode=status, stderr=capsys.readouterr().err)
    assert done.returncode == 2 and fragment in done.stderr, done.stderr
