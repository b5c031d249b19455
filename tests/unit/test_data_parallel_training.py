"""Data-parallel training without Ray or processes: how ranks share batches (DDP over a real gloo
process group: tests/integration/test_data_parallel_ranks.py)."""

import numpy as np
import torch
from torch import nn

from trainables.distributed import Shard
from trainables.training import ImageBatches, correct_and_count


def batches_of(count: int, shard: Shard, batch_size: int = 4, seed: int = 3) -> list[list[int]]:
    """The labels (here each image's index) of every training batch a rank gets."""
    images = np.zeros((count, 1, 8, 8), dtype=np.uint8)
    data = ImageBatches(images, np.arange(count), torch.zeros(1), torch.ones(1), torch.device("cpu"))
    generator = torch.Generator().manual_seed(seed)
    return [y.tolist() for _, y in data.batches(batch_size, generator, 1, True, shard)]


def test_the_ranks_batches_together_are_the_batch_of_one_process():
    alone = batches_of(10, Shard())
    ranks = [batches_of(10, Shard(rank, 2)) for rank in range(2)]
    assert [len(b) for b in alone] == [4, 4, 2]
    assert [len(b) for b in ranks[0]] == [2, 2, 1] and [len(b) for b in ranks[1]] == [2, 2, 1]
    for whole, first, second in zip(alone, *ranks, strict=True):
        assert sorted(first + second) == sorted(whole) and not set(first) & set(second)
    # 10 images in batches of 4 over 3 ranks: the last batch (2 images) would leave a rank
    # without a step, so every rank leaves it out
    assert [[len(b) for b in batches_of(10, Shard(rank, 3))] for rank in range(3)] == [[2, 2], [1, 1], [1, 1]]


def test_each_rank_augments_with_its_own_stream():
    """Every image the same: ranks that drew the same crops would get the same batch."""
    image = np.random.default_rng(0).integers(0, 255, (1, 1, 8, 8), dtype=np.uint8)
    data = ImageBatches(
        np.repeat(image, 16, axis=0),
        np.zeros(16, dtype=np.int64),
        torch.zeros(1),
        torch.ones(1),
        torch.device("cpu"),
    )
    first, second = (
        next(data.batches(16, torch.Generator().manual_seed(5), 2, True, Shard(rank, 2)))[0]
        for rank in range(2)
    )
    assert first.shape == second.shape == (8, 1, 8, 8)
    assert not torch.equal(first, second)


def test_evaluation_shares_count_every_image_once():
    images = np.random.default_rng(1).integers(0, 255, (11, 1, 8, 8), dtype=np.uint8)
    labels = np.random.default_rng(2).integers(0, 3, 11)
    data = ImageBatches(images, labels, torch.zeros(1), torch.ones(1), torch.device("cpu"))
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 3))
    whole = correct_and_count(model, data, batch_size=2)
    shares = sum(correct_and_count(model, data, batch_size=2, shard=Shard(rank, 3)) for rank in range(3))
    assert shares.tolist() == whole.tolist() and whole[1] == 11
