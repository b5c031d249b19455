"""Two real processes in a real gloo process group, for the data-parallel tests: each runs a
function as one rank and saves what it returns; the test reads both back."""

import os
import socket
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rank(rank: int, work, port: int, folder: str, arguments: tuple) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    try:
        torch.save(work(rank, *arguments), os.path.join(folder, f"{rank}.pt"))
    finally:
        dist.destroy_process_group()


def on_two_ranks(work, folder: Path, *arguments) -> list:
    """``work(rank, *arguments)`` on ranks 0 and 1 (a module-level function: spawned processes
    import it); what each returned, in rank order."""
    mp.spawn(_rank, args=(work, free_port(), str(folder), arguments), nprocs=2)
    return [torch.load(folder / f"{rank}.pt") for rank in range(2)]
