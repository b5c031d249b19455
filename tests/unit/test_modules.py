"""Module types: bottleneck networks against torchvision's ResNet-50, every proposable depth runs,
per-module search defaults (a real search with each: tests/integration/test_modules_search.py)."""

import itertools

import pytest
import torch
import torchvision

from nas_service.cli.arguments import parse_config
from trainables.metrics.size import count_macs, count_parameters
from trainables.models import build_model
from trainables.spec import ArchSpec


def test_bottleneck_3_4_6_3_is_torchvisions_resnet50():
    spec = ArchSpec(depths=(3, 4, 6, 3), module="bottleneck", image_size=224, num_classes=1000)
    ours, reference = build_model(spec), torchvision.models.resnet50()
    assert spec.depth == 50
    assert count_parameters(ours) == count_parameters(reference) == 25_557_032
    assert count_macs(ours, 3, 224) == count_macs(reference, 3, 224)
    assert count_macs(ours, 3, 224) == pytest.approx(4.09e9, rel=0.01)
    # same layers in the same order: torchvision's weights load into ours
    shapes = [tuple(p.shape) for p in ours.parameters()]
    assert shapes == [tuple(p.shape) for p in reference.parameters()]


@pytest.mark.parametrize("image_size,first_stage_side", [(32, 32), (64, 16)])
@pytest.mark.parametrize("depths", list(itertools.product([2, 3, 4], repeat=4))[::20])
def test_every_proposable_bottleneck_depth_trains(depths, image_size, first_stage_side):
    """Defaults m0 = 2, delta = 1 over two iterations propose 2..4 blocks per stage; small
    images keep the CIFAR stem, larger ones take torchvision's /4 stem."""
    spec = ArchSpec(
        depths=depths, module="bottleneck", widths=(4, 8, 16, 32), image_size=image_size, num_classes=5
    )
    model = build_model(spec)
    x = torch.randn(2, 3, image_size, image_size)
    stages = model.forward_stages(x)
    assert [s.shape[1] for s in stages] == [16, 32, 64, 128]  # 4x the stage widths
    assert stages[0].shape[-1] == first_stage_side
    # the last stage's pre-ReLU output is exactly what the head sees after its ReLU
    torch.testing.assert_close(model.forward_head(torch.relu(stages[-1])), model(x))
    model(x).sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_nasnet_6_6_6_is_the_papers_nasnet_241_with_3_3m_parameters():
    spec = ArchSpec(depths=(6, 6, 6), module="nasnet")  # widths 32/64/128: NASNet-A 6@768
    assert spec.depth == 241
    assert count_parameters(build_model(spec)) == pytest.approx(3.3e6, rel=0.05)
    # Table IV's cell candidates and NASNet baselines, by their depths
    assert [ArchSpec(depths=d, module="nasnet").depth for d in [(2, 3, 2), (4, 4, 4)]] == [109, 169]


@pytest.mark.parametrize("depths", [(2, 2, 2), (3, 2, 4), (4, 4, 3)])
def test_every_proposable_nasnet_depth_trains(depths):
    spec = ArchSpec(depths=depths, module="nasnet", widths=(4, 8, 16), image_size=16)
    model = build_model(spec)
    x = torch.randn(2, 3, 16, 16)
    stages = model.forward_stages(x)
    assert [tuple(s.shape[1:]) for s in stages] == [(24, 16, 16), (48, 8, 8), (96, 4, 4)]
    torch.testing.assert_close(model.forward_head(torch.relu(stages[-1])), model(x))
    model(x).sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_each_module_type_brings_its_search_defaults():
    basic = parse_config([])
    assert (basic.stages, basic.m0, basic.delta, basic.widths) == (3, 6, 2, None)
    nasnet = parse_config(["--module", "nasnet"])
    assert (nasnet.stages, nasnet.m0, nasnet.delta) == (3, 2, 1)
    bottleneck = parse_config(["--module", "bottleneck", "--width", "8"])
    assert (bottleneck.stages, bottleneck.m0, bottleneck.delta) == (4, 2, 1)
    assert bottleneck.start_depths == (2, 2, 2, 2) and bottleneck.widths == (8, 16, 32, 64)
    assert parse_config(["--initial-depths", "1-2"]).stages == 2


@pytest.mark.parametrize("module,depths", [("basic", (1, 1, 1)), ("bottleneck", (1, 1, 1, 1))])
def test_images_above_32_pixels_get_the_imagenet_stem(module, depths):
    """Tiny ImageNet's 64x64: the stem divides by 4 (7x7/2 conv, 3x3/2 max pool), as for 224."""
    for size, side in [(32, 32), (64, 16)]:
        model = build_model(ArchSpec(depths=depths, module=module, image_size=size))
        assert model.forward_stages(torch.randn(1, 3, size, size))[0].shape[-1] == side
