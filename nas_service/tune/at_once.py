"""Several searches at once in one driver, when the cluster has room for more than one.

A search keeps at most two trials running (A and T), so a cluster with room for more trials
idles unless several searches share it: the seeds of ``compare``, its criteria, an m0 sweep.
``run_at_once`` runs such searches in threads of the driver (each its own Tuner, MLflow parent and
Tune folder; they share the driver's Ray connection); ``cluster.searches_that_fit`` says how many.
A search's numbers do not depend on what runs beside it: each trial is seeded and keeps to its own
CPUs (or GPU share), and the stage-wise decisions follow the scores only.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

from nas_service.tune.stop_signals import stop_threads_on_signal

Result = TypeVar("Result")


def run_at_once(jobs: Sequence[tuple[str, Callable[[], Result]]], at_once: int) -> list[Result]:
    """Run ``(label, job)`` pairs, at most ``at_once`` at a time; their results in job order.

    One at a time, the jobs run one after the other in this thread, as if called directly.  More,
    each runs in a thread named by its label (which prefixes its log lines), a stop signal asks
    every running search to stop gracefully (``stop_threads_on_signal``), jobs not started by
    then are skipped, and the first job's error (in job order) is raised once all have ended."""
    if at_once <= 1 or len(jobs) <= 1:
        return [job() for _, job in jobs]
    waiting: queue.Queue[int] = queue.Queue()
    for index in range(len(jobs)):
        waiting.put(index)
    results: dict[int, Result] = {}
    errors: dict[int, BaseException] = {}
    stopped = threading.Event()

    def work() -> None:
        while not stopped.is_set():
            try:
                index = waiting.get_nowait()
            except queue.Empty:
                return
            threading.current_thread().name = jobs[index][0]
            _labelled_threads.add(threading.get_ident())
            try:
                results[index] = jobs[index][1]()
            except BaseException as error:  # noqa: BLE001 - re-raised in the main thread below
                errors[index] = error
                stopped.set()  # a failed or interrupted search: start no new one

    # daemon threads: a second Ctrl-C leaves the driver at once, as it does for one search
    threads = [threading.Thread(target=work, daemon=True) for _ in range(min(at_once, len(jobs)))]
    with stop_threads_on_signal(), labelled_log_lines():
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(timeout=0.5)  # the main thread stays free to take signals
    if errors:
        raise errors[min(errors)]
    return [results[index] for index in range(len(jobs))]


_labelled_threads: set[int] = set()  # the threads ``run_at_once`` runs jobs in


class _ThreadLabel(logging.Filter):
    """Prefixes the log lines of a job's thread with its label, so that interleaved lines of
    searches running at once say which search they belong to."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.thread in _labelled_threads and not getattr(record, "labelled", False):
            record.msg = f"[{record.threadName}] {record.msg}"
            record.labelled = True
        return True


@contextmanager
def labelled_log_lines() -> Iterator[None]:
    label = _ThreadLabel()
    handlers = logging.getLogger().handlers
    for handler in handlers:
        handler.addFilter(label)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(label)
