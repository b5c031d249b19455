"""Searches run side by side in threads of one driver: results in job order, log lines labelled,
the first error raised after all have ended (one Ctrl-C stopping every Tune run:
tests/integration/test_at_once_interrupt.py)."""

import logging
import time
from functools import partial

import pytest

from nas_service.tune.at_once import run_at_once


def test_jobs_keep_their_order_and_label_their_log_lines(caplog):
    def job(value: int, pause: float) -> int:
        time.sleep(pause)
        logging.getLogger("nas_service.test").info("done %s", value)
        return value

    with caplog.at_level(logging.INFO):
        results = run_at_once(
            [
                ("first", partial(job, 1, 0.3)),
                ("second", partial(job, 2, 0.0)),
                ("third", partial(job, 3, 0.0)),
            ],
            2,
        )
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
        run_at_once(
            [
                ("a", partial(job, "a", 0.4, True)),
                ("b", partial(job, "b", 0.0, True)),
                ("c", partial(job, "c", 0.0, False)),
            ],
            2,
        )
    # b failed first, so c never started; a still ran to its end
    assert sorted(ended) == ["a", "b"]
