"""The errors that end a command, each with its exit status (``nas_service.cli.common``); they import
nothing heavy, so the CLI can report bad settings before loading Ray, MLflow or torch."""

import shlex


class ConfigError(ValueError):
    """A bad setting; the message names the flag (or file) and the bad value."""


class SearchFailed(RuntimeError):
    """A candidate could not be trained; what finished before is kept in MLflow and on disk."""


class SearchInterrupted(RuntimeError):
    """Ctrl-C, SIGTERM or SIGHUP stopped a search; Tune saved its state.

    ``command`` (``run``, ``baselines``, ...) and ``resume_arguments`` are what continues it; the
    message names them as the console command spells them, ``resume_command`` as ``python -m
    nas_service`` does (a ``ray job submit`` entrypoint, where no console script may be
    installed).
    """

    def __init__(self, message: str, command: str = "", resume_arguments: tuple[str, ...] = ()) -> None:
        self.message, self.command, self.resume_arguments = message, command, resume_arguments
        super().__init__(self.text("stagewise-nas"))

    def resume_command(self, program: str) -> list[str]:
        """The command line that continues the search: ``stagewise-nas run --resume ...`` or,
        for ``program`` ``python -m nas_service``, ``python -m nas_service.run --resume ...``
        (the job entrypoint's own spelling) and ``python -m nas_service baselines ...``."""
        if program == "python -m nas_service" and self.command == "run":
            head = ["python", "-m", "nas_service.run"]
        else:
            head = [*program.split(), self.command]
        return [*head, *self.resume_arguments]

    def text(self, program: str) -> str:
        if not self.command:
            return self.message
        return f"{self.message} Resume with: {shlex.join(self.resume_command(program))}"


def error_line(error: BaseException | str) -> str:
    """``ExceptionType: message``: the last non-empty line of a (remote) traceback."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else ""


def failure_cause(error: BaseException | str | None) -> str:
    """`` (ExceptionType: message)`` to append to "<trial> failed", or ``""`` when the cause
    is unknown: one line however long the (remote) traceback."""
    line = error_line(error) if error is not None else ""
    return f" ({line})" if line else ""
