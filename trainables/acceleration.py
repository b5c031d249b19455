"""How one training run uses its device: data placement, precision, memory format, compilation.

Everything is chosen automatically from the device, with ``--precision`` and ``--compile`` as the
user's overrides, so the same trainer runs on a laptop CPU and an H100:

* data kept on the GPU as uint8 when it fits in this trial's share of the GPU memory (augmentation
  then runs there in batches); otherwise it stays in pinned host memory and each batch is copied
  asynchronously.  Host memory is where every loader of ours already holds the data, so a
  ``DataLoader`` with worker processes would only add copies;
* bf16 autocast on GPUs that support it.  CPUs stay in fp32 unless asked: bf16 is fast only on
  CPUs with AVX512-BF16/AMX (1.28x on our dev machine, measured) and emulated slowly elsewhere;
* channels_last on CUDA, where cuDNN's convolutions are fastest in NHWC, and on CPUs with oneDNN
  (x86 builds of torch), whose convolutions are faster in NHWC too: training 1.13-1.64x and
  evaluation 1.18-2.05x faster for our basic, bottleneck and nasnet networks on 8x8 to 32x32
  images (one process alone, one thread, AVX2 EPYC; with two trials side by side on two cores
  the default digits search trained as fast as in NCHW and validated 1.25x faster);
* ``torch.compile`` decided by ``decide_compile`` once the first eager epoch has been timed.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
from torch import nn

from trainables.protocol import COMPILE_CHOICES, PRECISIONS

# Share of a trial's GPU memory that resident data may take; the rest is for activations.
DATA_MEMORY_SHARE = 0.25

# Measured on an H100 with ResNet-56 (issue 8): compiling one architecture took 26-115 s and made
# training 4.6x / 2.7x = 1.7x faster than our eager bf16 + channels_last path.
EXPECTED_COMPILE_SECONDS = 70.0
EXPECTED_COMPILE_SPEEDUP = 1.7


@dataclass(frozen=True)
class Acceleration:
    """The settings one training run uses; logged with the run so results can be explained."""

    device: torch.device
    bf16: bool = False
    channels_last: bool = False
    data_on_device: bool = True
    compile: str = "off"

    def autocast(self) -> contextlib.AbstractContextManager:
        """bf16 autocast when enabled, else a no-op context."""
        if not self.bf16:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16)

    @property
    def memory_format(self) -> torch.memory_format:
        return torch.channels_last if self.channels_last else torch.contiguous_format

    def prepare_model(self, model: nn.Module) -> nn.Module:
        return model.to(self.device, memory_format=self.memory_format)

    def prepare_input(self, images: torch.Tensor) -> torch.Tensor:
        return images.contiguous(memory_format=self.memory_format)

    def describe(self) -> dict[str, str]:
        """Flat strings for MLflow tags."""
        return {
            "device": self.device.type,
            "precision": "bf16" if self.bf16 else "fp32",
            "channels_last": str(self.channels_last).lower(),
            "data_placement": "device" if self.data_on_device else "pinned host",
            "compile": self.compile,
        }


def fits_in_memory(data_bytes: int, free_bytes: int, total_bytes: int, memory_share: float) -> bool:
    """Whether resident data leaves room to train: at most ``DATA_MEMORY_SHARE`` of this trial's
    share of the device, and at most half of what is free right now (the sibling trial may be
    using the rest)."""
    return data_bytes <= DATA_MEMORY_SHARE * memory_share * total_bytes and data_bytes <= free_bytes / 2


def choose_acceleration(
    device: torch.device,
    data_bytes: int,
    memory_share: float = 1.0,
    precision: str = "auto",
    compile: str = "auto",
) -> Acceleration:
    """The fastest settings this device supports for data of ``data_bytes`` (uint8 images)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r}: must be one of {', '.join(PRECISIONS)}")
    if compile not in COMPILE_CHOICES:
        raise ValueError(f"compile {compile!r}: must be one of {', '.join(COMPILE_CHOICES)}")
    if device.type != "cuda":
        return Acceleration(
            device,
            bf16=precision == "bf16",
            channels_last=torch.backends.mkldnn.is_available(),
            compile="off" if compile == "auto" else compile,
        )
    free, total = torch.cuda.mem_get_info(device)
    bf16 = torch.cuda.is_bf16_supported() if precision == "auto" else precision == "bf16"
    return Acceleration(
        device,
        bf16=bf16,
        channels_last=True,
        data_on_device=fits_in_memory(data_bytes, free, total, memory_share),
        compile=compile,
    )


@dataclass(frozen=True)
class CompileDecision:
    compile: bool
    reason: str
    expected_saving_s: float = 0.0


def decide_compile(
    request: str,
    eager_epoch_seconds: float,
    epochs_left: int,
    compile_seconds: float = EXPECTED_COMPILE_SECONDS,
    speedup: float = EXPECTED_COMPILE_SPEEDUP,
) -> CompileDecision:
    """Compile when the time it saves over the remaining epochs exceeds the time compiling costs.

    ``request`` is ``Acceleration.compile``: "on" and "off" are the user's word; "auto" weighs
    ``epochs_left`` eager epochs of ``eager_epoch_seconds`` against ``compile_seconds``.
    """
    saving = epochs_left * eager_epoch_seconds * (1.0 - 1.0 / speedup)
    if request == "off":
        return CompileDecision(False, "off", saving)
    if request == "on":
        return CompileDecision(True, "on", saving)
    if saving > compile_seconds:
        return CompileDecision(
            True, f"auto: saves ~{saving:.0f} s > ~{compile_seconds:.0f} s to compile", saving
        )
    return CompileDecision(
        False, f"auto: would save ~{saving:.0f} s < ~{compile_seconds:.0f} s to compile", saving
    )


def compile_model(model: nn.Module, device: torch.device, backend: str | None = None) -> nn.Module:
    """The compiled training forward; it shares parameters with ``model``.

    On CUDA with CUDA graphs ("reduce-overhead"): ResNets of small images are launch-bound.
    ``backend`` overrides the compiler (tests use "aot_eager", which needs no C++ toolchain).
    """
    if backend is not None:
        return torch.compile(model, backend=backend)
    mode = "reduce-overhead" if device.type == "cuda" else None
    return torch.compile(model, mode=mode)
