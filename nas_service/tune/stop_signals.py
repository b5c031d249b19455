"""Ctrl-C, SIGTERM and SIGHUP stop a search the same way, and the search knows it was stopped.

``docker stop``, Kubernetes (a KubeRay RayJob's driver pod), Slurm and ``timeout`` end a program
with SIGTERM, a closed terminal with SIGHUP.  By default Python dies on the spot, and once Ray has
started, Ray's own handler dumps a stack and aborts: the MLflow runs stay RUNNING and nobody is
told how to resume.  Here all three signals take Ctrl-C's path:

- while Tune runs trials (``graceful_stop``), the first one asks Tune to stop (Tune's own
  graceful-stop handler, which it installs for SIGUSR1 and SIGINT): Tune saves its state, stops
  the trials and returns; a second one skips that and raises ``KeyboardInterrupt``;
- anywhere else (``stop_like_ctrl_c``, installed by the CLI) they raise ``KeyboardInterrupt``.

Tune returns normally after a graceful stop and marks the stopped trials terminated, so a caller
cannot tell an interrupted search from a finished one by its results; ``graceful_stop`` records
which signal arrived.

Searches that run in threads (``nas_service.tune.at_once``) cannot use Tune's handler, which only
the main thread may install: there ``stop_threads_on_signal`` takes the signals in the main thread
and every search's ``stopper.StopRequested`` ends its Tune run the same graceful way.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))
_TUNE_SIGINT_SWITCH = "TUNE_DISABLE_SIGINT_HANDLER"

_last_signal: list[int] = []  # the last stop signal this process received, if any
# set by ``stop_threads_on_signal``: the searches running in threads are asked to stop
_stop_in_threads = threading.Event()


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def stop_like_ctrl_c() -> None:
    """SIGTERM and SIGHUP raise ``KeyboardInterrupt`` as Ctrl-C does (the CLI's setting)."""
    if _in_main_thread():
        for signum in STOP_SIGNALS:
            signal.signal(signum, _as_ctrl_c)


def _as_ctrl_c(signum: int, frame) -> None:
    _last_signal[:] = [signum]
    raise KeyboardInterrupt


@dataclass
class StopRequest:
    """What ``graceful_stop`` saw: the signal that asked the trials to stop, if one did."""

    signal: int | None = None

    @property
    def requested(self) -> bool:
        return self.signal is not None


@contextmanager
def graceful_stop() -> Iterator[StopRequest]:
    """Around ``Tuner.fit``: Ctrl-C, SIGTERM or SIGHUP ask Tune to stop gracefully, once; the
    yielded ``StopRequest`` says whether one did.  Outside the main thread (where no handler can
    be set) Tune's own Ctrl-C handling applies and nothing is recorded."""
    request = StopRequest()
    if not _in_main_thread():
        yield request
        if _stop_in_threads.is_set():  # ``stopper.StopRequested`` ended this run
            request.signal = _last_signal[0] if _last_signal else signal.SIGINT
        return

    def stop(signum: int, frame) -> None:
        _last_signal[:] = [signum]
        tune_stop = signal.getsignal(signal.SIGUSR1) if hasattr(signal, "SIGUSR1") else None
        if request.requested or not callable(tune_stop):
            raise KeyboardInterrupt  # the second signal, or Tune is not running yet
        request.signal = signum
        tune_stop(signum, frame)

    handled = (signal.SIGINT, *STOP_SIGNALS)
    tune_owned = (signal.SIGUSR1,) if hasattr(signal, "SIGUSR1") else ()
    saved = {signum: signal.getsignal(signum) for signum in (*handled, *tune_owned)}
    switch = os.environ.get(_TUNE_SIGINT_SWITCH)
    os.environ[_TUNE_SIGINT_SWITCH] = "1"  # Tune leaves SIGINT to ``stop``
    for signum in handled:
        signal.signal(signum, stop)
    for signum in tune_owned:  # not an earlier fit's handler: this fit's Tune installs its own
        signal.signal(signum, signal.SIG_DFL)
    try:
        yield request
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        if switch is None:
            os.environ.pop(_TUNE_SIGINT_SWITCH, None)
        else:
            os.environ[_TUNE_SIGINT_SWITCH] = switch


def stop_requested_in_threads() -> bool:
    """Whether ``stop_threads_on_signal`` took a stop signal: the searches in threads end
    (``nas_service.tune.stopper.StopRequested``)."""
    return _stop_in_threads.is_set()


@contextmanager
def stop_threads_on_signal() -> Iterator[None]:
    """Around searches running in threads: the first Ctrl-C, SIGTERM or SIGHUP asks each of their
    Tune runs to stop gracefully (``stopper.StopRequested``), a second one raises ``KeyboardInterrupt``
    in the main thread."""

    def stop(signum: int, frame) -> None:
        if _stop_in_threads.is_set():
            raise KeyboardInterrupt
        _last_signal[:] = [signum]
        _stop_in_threads.set()

    handled = (signal.SIGINT, *STOP_SIGNALS)
    saved = {signum: signal.getsignal(signum) for signum in handled}
    _stop_in_threads.clear()
    for signum in handled:
        signal.signal(signum, stop)
    try:
        yield
    finally:
        # every threaded search has ended: a later search of this process must not see the stop
        _stop_in_threads.clear()
        for signum, handler in saved.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)


@contextmanager
def stop_handlers_kept() -> Iterator[None]:
    """Put ``stop_like_ctrl_c``'s handlers back after the block: ``ray.init`` installs its own
    SIGTERM handlers (Python's, then the core worker's stack dump)."""
    saved = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        if _in_main_thread():
            for signum, handler in saved.items():
                if handler is _as_ctrl_c:
                    signal.signal(signum, handler)


def interrupted_status() -> int:
    """The shell's status for the signal that stopped the program: 143 for SIGTERM, 129 for
    SIGHUP, 130 for Ctrl-C."""
    return 128 + (_last_signal[0] if _last_signal else signal.SIGINT)


def interruption_name() -> str:
    """``Ctrl-C``, ``SIGTERM`` or ``SIGHUP``: what stopped the program."""
    if not _last_signal or _last_signal[0] == signal.SIGINT:
        return "Ctrl-C"
    return signal.Signals(_last_signal[0]).name
