"""How every entry point ends: exit 2 with one line for bad input, 1 for a failed search, 130
after Ctrl-C (143 after SIGTERM, 129 after SIGHUP, which stop a search the same way)."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable

from nas_service.core.errors import ConfigError, SearchFailed, SearchInterrupted
from nas_service.tune.stop_signals import interrupted_status, interruption_name, stop_like_ctrl_c
from trainables.datasets import DatasetError


def run_command(prog: str, command: Callable[[], object]) -> int:
    """Run ``command``; bad settings or data -> status 2, a search that failed -> status 1,
    Ctrl-C, SIGTERM or SIGHUP -> 128 + the signal, with the command that resumes."""
    started = time.perf_counter()
    show_library_log()
    stop_like_ctrl_c()
    try:
        command()
    except (ConfigError, DatasetError) as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
    except SearchFailed as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 1
    except SearchInterrupted as error:  # resumed as this command was spelled
        program = "python -m nas_service" if prog.startswith("python -m") else prog.split()[0]
        print(f"{prog}: {error.text(program)}", file=sys.stderr)
        return interrupted_status()
    except KeyboardInterrupt:  # outside a search's trials (loading data, starting Ray)
        print(
            f"{prog}: stopped by {interruption_name()} outside a search's trials; what finished is in MLflow",
            file=sys.stderr,
        )
        return interrupted_status()
    print(f"[nas] done in {time.perf_counter() - started:.0f} s", flush=True)
    return 0


class _CurrentStdout:
    """Whatever ``sys.stdout`` is when a record is written, as ``print`` does: a caller that
    redirects stdout after the first command (a notebook cell, a test) still gets the lines."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


class ConsoleFormatter(logging.Formatter):
    """``[nas] <message>``; a message that starts with a line break is a block (a table, a
    summary) and is shown as it is."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        return message if message.startswith("\n") else f"[nas] {message}"


def show_library_log() -> None:
    """The library's ``logging`` records (progress, decisions, tables) on stdout, one ``[nas]``
    line each, as the CLI prints its own lines."""
    library = logging.getLogger("nas_service")
    if not library.handlers:
        handler = logging.StreamHandler(_CurrentStdout())
        handler.setFormatter(ConsoleFormatter())
        library.addHandler(handler)
        library.setLevel(logging.INFO)
        library.propagate = False
