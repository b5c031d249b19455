"""A stop signal outside a search ends the command in one line."""

import os
import signal

import pytest

from nas_service.cli.common import run_command


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_stop_signal_outside_a_search_ends_the_command_in_one_line(capsys, signum):
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        status = run_command("prog", lambda: os.kill(os.getpid(), signum))
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)
    assert status == 128 + signum
    assert capsys.readouterr().err == (
        f"prog: stopped by {signal.Signals(signum).name} outside "
        "a search's trials; what finished is in MLflow\n"
    )
