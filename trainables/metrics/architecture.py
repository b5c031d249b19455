"""All size and speed measures of one network, in one place (trials, ``describe`` and reports)."""

from __future__ import annotations

from torch import nn

from trainables.metrics.latency import cpu_latency_ms
from trainables.metrics.size import count_macs, count_parameters, memory_mb
from trainables.models import build_model
from trainables.spec import ArchSpec


def architecture_measures(model: nn.Module, spec: ArchSpec, latency: bool = True) -> dict:
    """depth, params, macs, memory_mb and (unless ``latency=False``) cpu_latency_ms."""
    measures = {
        "depth": spec.depth,
        "params": count_parameters(model),
        "macs": count_macs(model, spec.in_channels, spec.image_size),
        "memory_mb": memory_mb(model),
    }
    if latency:
        measures["cpu_latency_ms"] = cpu_latency_ms(model, spec.in_channels, spec.image_size)
    return measures


def describe_spec(spec: ArchSpec, latency: bool = False) -> dict:
    """The measures of a freshly built network of ``spec``, with its depths spelled out."""
    return {"depths": spec.depths_text, **architecture_measures(build_model(spec), spec, latency)}
