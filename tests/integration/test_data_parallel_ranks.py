"""DDP over gloo gives the step of the whole batch: two real processes join a real gloo process
group."""

import numpy as np
import pytest
import torch
from process_group import on_two_ranks
from torch import nn

from trainables.distributed import gather_from_ranks, sum_over_ranks
from trainables.protocol import TrainingConfig
from trainables.training import CandidateTrainer, ImageBatches

CONFIG = TrainingConfig(epochs=2, lr=0.1, batch_size=8, weight_decay=0.0)


def linear_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 4))


def global_batch() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    return torch.randn(8, 1, 8, 8, generator=generator), torch.randint(0, 4, (8,), generator=generator)


def one_step_then_an_epoch(rank: int) -> dict:
    """One rank: a step on its half of the global batch, then a whole epoch of sharded batches."""
    torch.set_num_threads(1)
    trainer = CandidateTrainer(linear_model(), CONFIG)
    x, y = global_batch()
    trainer._step(x[rank::2], y[rank::2])
    step = [p.detach().clone() for p in trainer.model.parameters()]
    images = np.random.default_rng(3).integers(0, 255, (20, 1, 8, 8), dtype=np.uint8)
    data = ImageBatches(images, np.arange(20) % 4, torch.zeros(1), torch.ones(1), torch.device("cpu"))
    loss = trainer.train_epoch(data, 0, torch.Generator().manual_seed(7), False)
    return {
        "step": step,
        "epoch": [p.detach() for p in trainer.model.parameters()],
        "loss": loss,
        "nodes": gather_from_ranks(f"rank{rank}"),
        "sum": sum_over_ranks(torch.tensor([rank + 1.0])).item(),
    }


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory) -> list[dict]:
    return on_two_ranks(one_step_then_an_epoch, tmp_path_factory.mktemp("ranks"))


def test_two_ranks_take_the_step_of_the_whole_batch(two_ranks):
    trainer = CandidateTrainer(linear_model(), CONFIG)
    trainer._step(*global_batch())
    for rank in two_ranks:
        for alone, shared in zip(trainer.model.parameters(), rank["step"], strict=True):
            torch.testing.assert_close(shared, alone.detach(), rtol=1e-5, atol=1e-6)


def test_the_ranks_stay_identical_and_agree_on_the_epoch(two_ranks):
    first, second = two_ranks
    for a, b in zip(first["epoch"], second["epoch"], strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert first["loss"] == second["loss"] and np.isfinite(first["loss"])
    assert first["nodes"] == second["nodes"] == ["rank0", "rank1"]
    assert first["sum"] == second["sum"] == 3.0
