"""What Tune's results say about failed trials: one ``SearchFailed`` line for a search whose trials
failed, or the error of one trial."""

from __future__ import annotations

from nas_service.core.errors import SearchFailed, error_line


def raise_if_trials_failed(results, what: str) -> None:
    """``SearchFailed`` naming how many trials of ``what`` failed and the first one's cause."""
    errors = [result for result in results if result.error is not None]
    if errors:
        raise SearchFailed(f"{what}: {len(errors)} trial(s) failed, e.g. {error_line(errors[0].error)}")


def trial_error(results, trial_id: str | None) -> BaseException | None:
    """The error of trial ``trial_id`` in Tune's results, if it failed."""
    return next(
        (
            result.error
            for result in results
            if result.error is not None and trial_id and str(result.path).endswith(trial_id)
        ),
        None,
    )
