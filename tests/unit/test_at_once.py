"""Searches run side by side in threads of one driver: results in job order, log lines labelled,
the first error raised after all have ended, and one Ctrl-C stopping every Tune run gracefully."""

import logging
import os
import signal
import threading
import time
from functools import partial

import pytest
from ray import tune

from nas_service.tune.at_once import run_at_once
from nas_service.tune.stop_signals import graceful_stop, interruption_name
from nas_service.tune.stopper import StopRequested
from nas_service.tune.trainable_name import register

STEPS = 60


def slow_steps(config) -> None:
    for step in range(STEPS):
        time.sleep(0.5)
        tune.report({"step": step + 1})


def tune_run(name: str, storage: str) -> tuple[bool, int, str]:
    """One Tune run as a search makes it: (stop requested, steps done, the thread it ran in)."""
    tuner = tune.Tuner(register(f"slow-{name}", slow_steps), run_config=tune.RunConfig(
        name=name, storage_path=storage, stop=StopRequested(), verbose=0))
    with graceful_stop() as request:
        (result,) = tuner.fit()
    return request.requested, result.metrics.get("step", 0), threading.current_thread().name


def test_one_ctrl_c_stops_every_run_gracefully(ray_session, tmp_path):
    threading.Timer(8, os.kill, (os.getpid(), signal.SIGINT)).start()
    started = time.monotonic()
    outcomes = run_at_once([(name, partial(tune_run, name, str(tmp_path))) for name in "ab"], 2)
    assert time.monotonic() - started < STEPS * 0.5  # neither ran its 60 steps
    assert [(requested, thread) for requested, _, thread in outcomes] == [(True, "a"), (True, "b")]
    assert all(steps < STEPS for _, steps, _ in outcomes)
    assert interruption_name() == "Ctrl-C"
    assert not StopRequested().stop_all()  # a later search of this process runs normally
    assert signal.getsignal(signal.SIGINT) is not None  # the handlers before it are back
    for name in "ab":  # Tune saved each run's state: each can be resumed
        assert tune.Tuner.can_restore(str(tmp_path / name))


def test_jobs_keep_their_order_and_label_their_log_lines(caplog):
    def job(value: int, pause: float) -> int:
        time.sleep(pause)
        logging.getLogger("nas_service.test").info("done %s", value)
        return value

    with caplog.at_level(logging.INFO):
        results = run_at_once([("first", partial(job, 1, 0.3)), ("second", partial(job, 2, 0.0)),
                               ("third", partial(job, 3, 0.0))], 2)
    assert results == [1, 2, 3]  # job order, not the order they finished in
    lines = [record.getMessage() for record in caplog.records]
    assert {"[first] done 1", "[second] done 2", "[third] done 3"} == set(lines)
    assert lines.index("[second] done 2") < lines.index("[first] done 1")
    # one at a time: in this thread, unlabelled
    caplog.clear()
    with caplog.at_level(logging.INFO):
        assert run_at_once([("only", partial(job, 4, 0.0))], 2) == [4]
    assert [record.getMessage() for record in caplog.records] == ["done 4"]


def test_the_first_error_in_job_order_is_raised_after_every_started_job_ended():
    ended = []

    def job(name: str, pause: float, fails: bool) -> None:
        time.sleep(pause)
        ended.append(name)
        if fails:
            raise ValueError(name)

    with pytest.raises(ValueError, match="^a$"):
        run_at_once([("a", partial(job, "a", 0.4, True)), ("b", partial(job, "b", 0.0, True)),
                     ("c", partial(job, "c", 0.0, False))], 2)
    # b failed first, so c never started; a still ran to its end
    assert sorted(ended) == ["a", "b"]
