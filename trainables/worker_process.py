"""Settings of the worker process that runs a trial, made from inside the trial."""

from __future__ import annotations

import sys


def quiet_exit_requests() -> None:
    """Drop Python's "Exception ignored" stack for the ``SystemExit`` of a stopped worker.

    Ray stops a trial's worker with SIGTERM, and the worker's handler turns it into
    ``SystemExit``.  When the signal lands while a weakref callback runs, Python cannot raise it
    and prints it as an ignored exception with its stack instead, which Ray forwards to the
    console of the user who just interrupted the search.  The worker is stopped either way (Ray
    follows with SIGKILL), so only that print goes; every other ignored exception is still
    reported by the hook that was there before.  Installed once per process.
    """
    previous = sys.unraisablehook
    if getattr(previous, "quiet_exit_requests", False):
        return

    def hook(unraisable) -> None:
        if not isinstance(unraisable.exc_value, SystemExit):
            previous(unraisable)

    hook.quiet_exit_requests = True
    sys.unraisablehook = hook
