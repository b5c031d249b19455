import pytest
import torch

from trainables.metrics.architecture import describe_spec
from trainables.metrics.size import count_macs, count_parameters
from trainables.models import build_model
from trainables.spec import ArchSpec, format_depths, parse_depths

# The paper's references for 10 classes at 32x32 (Table I/III): params, MACs ("FLOPs").
PAPER_REFERENCES = {7: (0.66e6, 97e6), 9: (0.86e6, 125e6), 18: (1.7e6, 253e6)}


@pytest.mark.parametrize("blocks", sorted(PAPER_REFERENCES))
def test_uniform_resnets_match_the_paper(blocks):
    params, macs = PAPER_REFERENCES[blocks]
    measured = describe_spec(ArchSpec(depths=(blocks,) * 3))
    assert measured["depth"] == 6 * blocks + 2
    assert measured["params"] == pytest.approx(params, rel=0.02)
    assert measured["macs"] == pytest.approx(macs, rel=0.02)


def test_found_architecture_macs_match_table_iii():
    # the paper's Table III: [6, 8, 6] has 92.7M MACs.
    assert describe_spec(ArchSpec(depths=(6, 8, 6)))["macs"] == pytest.approx(92.7e6, rel=0.005)


@pytest.mark.parametrize("channels,size", [(1, 8), (3, 8), (1, 28), (3, 32), (3, 37)])
def test_any_input_of_at_least_8x8(channels, size):
    spec = ArchSpec(depths=(1, 2, 1), in_channels=channels, image_size=size, num_classes=7)
    model = build_model(spec)
    images = torch.randn(2, channels, size, size)
    assert model(images).shape == (2, 7)
    stages = model.forward_stages(images)
    assert [s.shape[1] for s in stages] == [16, 32, 64]
    first = size if size <= 32 else ((size + 1) // 2 + 1) // 2  # the ImageNet stem above 32
    expected_sizes = [first, (first + 1) // 2, ((first + 1) // 2 + 1) // 2]
    assert [s.shape[-1] for s in stages] == expected_sizes


def test_stage_outputs_are_pre_relu_and_feed_the_head():
    model = build_model(ArchSpec(depths=(2, 2, 2))).eval()
    images = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        stages = model.forward_stages(images)
        logits = model.forward_head(torch.relu(stages[-1]))
        assert torch.allclose(logits, model(images), atol=1e-5)
    assert all((s < 0).any() for s in stages)  # a ReLU output would have no negatives


def test_downsampling_uses_a_projection_shortcut():
    model = build_model(ArchSpec(depths=(1, 1, 1)))
    assert isinstance(model.stages[1][0].shortcut, torch.nn.Conv2d)
    assert isinstance(model.stages[0][0].shortcut, torch.nn.Identity)


def test_counts_grow_with_depth():
    small, large = (build_model(ArchSpec(depths=d)) for d in [(2, 2, 2), (2, 4, 2)])
    assert count_parameters(large) > count_parameters(small)
    assert count_macs(large, 3, 32) > count_macs(small, 3, 32)


@pytest.mark.parametrize(
    "bad",
    [
        dict(depths=()),
        dict(depths=(0, 1, 1)),
        dict(depths=(1, 1), widths=(16, 32, 64)),
        dict(depths=(1, 1, 1), in_channels=2),
        dict(depths=(1, 1, 1), image_size=4),
    ],
)
def test_invalid_specs_are_rejected(bad):
    with pytest.raises(ValueError):
        ArchSpec(**bad)


def test_depths_text_round_trip():
    assert parse_depths("6-8-6") == (6, 8, 6)
    assert format_depths((6, 8, 6)) == "6-8-6"
    spec = ArchSpec(depths=(6, 8, 6))
    assert ArchSpec.from_dict(spec.to_dict()) == spec
    for bad in ("", "6-x", "6--6", "0-1"):
        with pytest.raises(ValueError, match=repr(bad)):
            parse_depths(bad)


def test_widths_double_per_stage_by_default():
    assert ArchSpec(depths=(1, 1, 1)).widths == (16, 32, 64)
    assert ArchSpec(depths=(1, 1, 1, 1), image_size=64).widths == (16, 32, 64, 128)


def test_describe_cli_prints_resnet56(capsys):
    import json

    from nas_service.cli.describe import main

    assert main(["--depths", "9-9-9"]) == 0
    described = json.loads(capsys.readouterr().out)
    assert (described["depth"], described["params"]) == (56, 855674)
    assert described["macs"] == pytest.approx(125.7e6, rel=0.001)
    assert main(["--depths", "9-0-9"]) == 2
    assert "'9-0-9'" in capsys.readouterr().err
