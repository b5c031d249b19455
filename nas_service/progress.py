"""One console line per finished or failed candidate, instead of Tune's per-epoch tables."""

from __future__ import annotations

from pathlib import Path

from ray.tune import Callback

from nas_service.errors import error_line
from nas_service.searcher import run_name, stage_scores_from_result
from trainables.protocol import CONTINUES_KEY, EXTRA_EPOCHS_KEY
from trainables.trainable import trial_identity


class ProgressPrinter(Callback):
    def on_trial_complete(self, iteration, trials, trial, **info) -> None:
        result = trial.last_result or {}
        scores = stage_scores_from_result(result, len(trial_identity(trial.config)[0])) or []
        importance = (", importance [" + ", ".join(f"{score:.4f}" for score in scores) + "]"
                      if scores else "")
        continued = (f" (continued for --final-epochs {trial.config[EXTRA_EPOCHS_KEY]})"
                     if CONTINUES_KEY in trial.config else "")
        accuracy = (f"val accuracy {result['val_accuracy']:.4f}" if "val_accuracy" in result
                    else f"train loss {result.get('train_loss', float('nan')):.4f}")
        print(f"[nas] {run_name(trial.config)}{continued}: {accuracy} after "
              f"{result.get('epoch', 0)} epochs"
              f"{importance}, {result.get('time_total_s', 0):.0f} s", flush=True)

    def on_trial_recover(self, iteration, trials, trial, **info) -> None:
        print(f"[nas] {run_name(trial.config)} failed{failure_cause(trial)}; retrying from its "
              f"last checkpoint", flush=True)

    def on_trial_error(self, iteration, trials, trial, **info) -> None:
        print(f"[nas] {run_name(trial.config)} failed{failure_cause(trial)}; traceback in "
              f"{trial.path}/error.txt", flush=True)


def failure_cause(trial) -> str:
    """`` (ExceptionType: message)`` from the last line of the trial's error file, if any.

    Tune's own multi-page traceback per failure is switched off (``nas_service.experiment``); the
    whole traceback stays in that file."""
    path = trial.error_file
    line = error_line(Path(path).read_text()) if path and Path(path).is_file() else ""
    return f" ({line})" if line else ""
