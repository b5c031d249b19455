"""The errors that end a command, each with its exit status (``nas_service.cli.common``); they import
nothing, so the CLI can report bad settings before loading Ray, MLflow or torch."""


class ConfigError(ValueError):
    """A bad setting; the message names the flag (or file) and the bad value."""


class SearchFailed(RuntimeError):
    """A candidate could not be trained; what finished before is kept in MLflow and on disk."""


class SearchInterrupted(RuntimeError):
    """Ctrl-C: Tune saved its state; the message says how to resume."""


def error_line(error: BaseException | str) -> str:
    """``ExceptionType: message``: the last non-empty line of a (remote) traceback."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else ""


def failure_cause(error: BaseException | str | None) -> str:
    """`` (ExceptionType: message)`` to append to "<trial> failed", or ``""`` when the cause
    is unknown: one line however long the (remote) traceback."""
    line = error_line(error) if error is not None else ""
    return f" ({line})" if line else ""
