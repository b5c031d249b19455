import math

import pytest
import torch

from trainables.metrics.architecture import describe_spec
from trainables.metrics.emissions import EpochEmissions, known_countries
from trainables.metrics.latency import cpu_latency_ms
from trainables.metrics.size import memory_mb
from trainables.models import build_model
from trainables.spec import ArchSpec


def test_resnet56_memory_is_its_float32_weights():
    # 855,674 parameters plus BN running mean and var: 2 x (16 stem + 18 x (16 + 32 + 64)) floats.
    model = build_model(ArchSpec(depths=(9, 9, 9)))
    bn_channels = 16 + 18 * (16 + 32 + 64)
    assert memory_mb(model) == pytest.approx((855_674 + 2 * bn_channels) * 4 / 1e6, rel=1e-12)


def test_latency_is_positive_and_restores_threads():
    threads = torch.get_num_threads()
    latency = cpu_latency_ms(build_model(ArchSpec(depths=(1, 1, 1))), 3, 32, repeats=5)
    assert 0 < latency < 10_000 and math.isfinite(latency)
    assert torch.get_num_threads() == threads


def test_describe_has_every_size_column():
    described = describe_spec(ArchSpec(depths=(9, 9, 9)), latency=True)
    assert set(described) == {"depths", "depth", "params", "macs", "memory_mb", "cpu_latency_ms"}


def test_emissions_are_measured_offline_on_the_cpu():
    meter = EpochEmissions("FRA")
    meter.start()
    x = torch.randn(256, 256)
    for _ in range(200):
        x = torch.tanh(x @ x)
    energy_kwh, emissions_kg = meter.stop()
    assert 0 < energy_kwh < 1 and 0 < emissions_kg < 1
    assert "USA" in known_countries() and "XYZ" not in known_countries()
