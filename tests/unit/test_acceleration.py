"""The fast training path's choices and each of its CPU-runnable variants (CI has no GPU)."""

import numpy as np
import pytest
import torch

from trainables.acceleration import (
    EXPECTED_COMPILE_SPEEDUP,
    Acceleration,
    choose_acceleration,
    decide_compile,
    fits_in_memory,
)
from trainables.datasets import load_dataset
from trainables.models import build_model
from trainables.protocol import TrainingConfig
from trainables.spec import ArchSpec
from trainables.training import CandidateTrainer, ImageBatches, channel_stats

CPU = torch.device("cpu")
GIB = 2**30


def test_data_fits_when_it_leaves_room_in_this_trials_share():
    # 80 GiB device, half of it ours: data may take a quarter of 40 GiB = 10 GiB
    assert fits_in_memory(10 * GIB, free_bytes=79 * GIB, total_bytes=80 * GIB, memory_share=0.5)
    assert not fits_in_memory(10 * GIB + 1, 79 * GIB, 80 * GIB, 0.5)
    # and at most half of what is free now (the sibling trial holds the rest)
    assert not fits_in_memory(5 * GIB, free_bytes=9 * GIB, total_bytes=80 * GIB, memory_share=1.0)


def test_compile_pays_off_only_over_enough_epochs():
    # 10 epochs of 20 s at 1.7x save 10 * 20 * (1 - 1/1.7) = 82.4 s > 70 s
    decision = decide_compile("auto", 20.0, 10, compile_seconds=70.0, speedup=1.7)
    assert decision.compile and decision.expected_saving_s == pytest.approx(82.35, abs=0.01)
    assert "82 s > ~70 s" in decision.reason
    assert not decide_compile("auto", 20.0, 8, compile_seconds=70.0, speedup=1.7).compile
    assert decide_compile("on", 0.1, 1).compile and not decide_compile("off", 1e4, 200).compile
    assert EXPECTED_COMPILE_SPEEDUP > 1


def test_a_cpu_trains_in_fp32_nhwc_uncompiled_unless_asked():
    automatic = choose_acceleration(CPU, data_bytes=GIB)
    assert torch.backends.mkldnn.is_available()  # x86 builds: oneDNN, fastest in NHWC
    assert (automatic.bf16, automatic.channels_last, automatic.data_on_device, automatic.compile) == (
        False,
        True,
        True,
        "off",
    )
    assert automatic.describe() == {
        "device": "cpu",
        "precision": "fp32",
        "channels_last": "true",
        "data_placement": "device",
        "compile": "off",
    }
    asked = choose_acceleration(CPU, GIB, precision="bf16", compile="on")
    assert asked.bf16 and asked.compile == "on"
    with pytest.raises(ValueError, match="precision 'fp16'"):
        choose_acceleration(CPU, GIB, precision="fp16")


@pytest.fixture(scope="module")
def digits():
    data = load_dataset("digits", seed=0)
    mean, std = channel_stats(data.x_train)
    return data, mean, std


def train_digits(digits, acceleration: Acceleration, epochs: int = 3, compile_backend=None):
    data, mean, std = digits
    torch.manual_seed(0)
    train = ImageBatches(data.x_train, data.y_train, mean, std, CPU, acceleration.data_on_device)
    model = build_model(ArchSpec(depths=(1, 1, 1), in_channels=1, image_size=8))
    # 1257 training images in batches of 64: the last batch (41) is partial
    trainer = CandidateTrainer(model, TrainingConfig(epochs=epochs, lr=0.05, batch_size=64), acceleration)
    if compile_backend:
        trainer.compile(backend=compile_backend)
    generator = torch.Generator()
    losses = [trainer.train_epoch(train, epoch, generator, flip=False) for epoch in range(epochs)]
    return trainer, losses, trainer.evaluate(train.sibling(data.x_val, data.y_val))


@pytest.mark.parametrize(
    "acceleration",
    [
        Acceleration(CPU, bf16=True, channels_last=True),
        Acceleration(CPU, data_on_device=False),
    ],
    ids=["bf16-channels-last", "host-data"],
)
def test_every_variant_learns_digits(digits, acceleration):
    trainer, losses, accuracy = train_digits(digits, acceleration)
    assert losses[-1] < losses[0] and accuracy > 0.8
    if acceleration.channels_last:
        kernels = [p for p in trainer.model.parameters() if p.ndim == 4 and p.shape[-1] > 1]
        assert all(k.is_contiguous(memory_format=torch.channels_last) for k in kernels)


def test_bf16_tracks_fp32_within_a_few_points(digits):
    _, _, fp32 = train_digits(digits, Acceleration(CPU))
    _, _, bf16 = train_digits(digits, Acceleration(CPU, bf16=True))
    assert abs(fp32 - bf16) < 0.05


def test_a_compiled_step_matches_the_eager_one(digits):
    """Same start, same batches: the compiled training step (TorchDynamo + AOTAutograd, no C++
    toolchain needed) follows the eager one, and its first step is timed as the compile cost."""
    eager, eager_losses, eager_accuracy = train_digits(digits, Acceleration(CPU), epochs=1)
    compiled, compiled_losses, compiled_accuracy = train_digits(
        digits, Acceleration(CPU), epochs=1, compile_backend="aot_eager"
    )
    assert compiled_losses[0] == pytest.approx(eager_losses[0], rel=1e-3)
    assert compiled_accuracy == pytest.approx(eager_accuracy, abs=0.02)
    assert compiled.compile_seconds is not None and compiled.compile_seconds > 0
    assert eager.compile_seconds is None


@pytest.mark.skipif(
    not torch.cuda.is_available(),
    reason="needs a CUDA GPU and NAS_TEST_GPU=1 (conftest hides GPUs otherwise)",
)
def test_on_a_gpu_both_placements_serve_the_same_batches():
    device = torch.device("cuda")
    images = np.random.default_rng(0).integers(0, 256, (300, 3, 32, 32), dtype=np.uint8)
    labels = np.arange(300) % 10
    mean, std = channel_stats(images)
    batches = [
        list(
            ImageBatches(images, labels, mean, std, device, on_device).batches(
                128, torch.Generator().manual_seed(1), augment_padding=4, flip=True
            )
        )
        for on_device in (True, False)
    ]
    for (x_device, y_device), (x_host, y_host) in zip(*batches, strict=True):
        assert x_device.is_cuda and x_host.is_cuda
        torch.testing.assert_close(x_device, x_host)
        assert torch.equal(y_device, y_host)
    chosen = choose_acceleration(device, images.nbytes, 0.5)
    assert chosen.channels_last and chosen.data_on_device
    assert chosen.bf16 == torch.cuda.is_bf16_supported()
