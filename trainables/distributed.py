"""What a rank of a data-parallel candidate needs from ``torch.distributed``, free of Ray.

Ray Train starts the process group (gloo on CPUs, NCCL on GPUs); these helpers only use it when
it exists, so the same training code runs in one process, where each is the identity.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.distributed as dist


class Shard(NamedTuple):
    """The part of every batch that one rank trains on: ``rank`` of ``world_size``."""

    rank: int = 0
    world_size: int = 1

    @property
    def leader(self) -> bool:
        """Rank 0: the one that scores, tests and writes checkpoints."""
        return self.rank == 0


WHOLE = Shard()


def current_shard() -> Shard:
    """This process's rank and the world's size; ``WHOLE`` without a process group."""
    if not (dist.is_available() and dist.is_initialized()):
        return WHOLE
    return Shard(dist.get_rank(), dist.get_world_size())


def sum_over_ranks(values: torch.Tensor) -> torch.Tensor:
    """``values`` summed over every rank (in place on the tensor's device; unchanged alone)."""
    if current_shard().world_size > 1:
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


def gather_from_ranks(value) -> list:
    """Every rank's ``value`` (any picklable object), in rank order."""
    shard = current_shard()
    if shard.world_size == 1:
        return [value]
    gathered = [None] * shard.world_size
    dist.all_gather_object(gathered, value)
    return gathered
