"""One Ctrl-C stops every Tune run of searches run side by side in threads of one driver,
gracefully: each run saved its state and can be resumed."""

import os
import signal
import threading
import time
from functools import partial

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
    tuner = tune.Tuner(
        register(f"slow-{name}", slow_steps),
        run_config=tune.RunConfig(name=name, storage_path=storage, stop=StopRequested(), verbose=0),
    )
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
