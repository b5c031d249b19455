"""How every entry point ends: exit 2 with one line for bad input, 1 for a failed search."""

from __future__ import annotations

import sys
import time
from typing import Callable

from nas_service.config import ConfigError
from nas_service.experiment import SearchFailed
from trainables.datasets import DatasetError


def run_command(prog: str, command: Callable[[], object]) -> int:
    """Run ``command``; bad settings or data -> status 2, a search that failed -> status 1."""
    started = time.perf_counter()
    try:
        command()
    except (ConfigError, DatasetError) as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
    except SearchFailed as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 1
    print(f"[nas] done in {time.perf_counter() - started:.0f} s", flush=True)
    return 0
