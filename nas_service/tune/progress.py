"""One console line per finished or failed candidate, instead of Tune's per-epoch tables."""

from __future__ import annotations

import logging
from pathlib import Path

from ray.tune import Callback

from nas_service.core.errors import failure_cause
from nas_service.core.trials import run_name, stage_scores_from_result
from trainables.trial_config import CONTINUES_KEY, EXTRA_EPOCHS_KEY, trial_identity

logger = logging.getLogger(__name__)


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
        logger.info(f"{run_name(trial.config)}{continued}: {accuracy} after "
                    f"{result.get('epoch', 0)} epochs"
                    f"{importance}, {result.get('time_total_s', 0):.0f} s")

    def on_trial_recover(self, iteration, trials, trial, **info) -> None:
        logger.info(f"{run_name(trial.config)} failed{trial_failure_cause(trial)}; retrying from its "
                    f"last checkpoint")

    def on_trial_error(self, iteration, trials, trial, **info) -> None:
        logger.info(f"{run_name(trial.config)} failed{trial_failure_cause(trial)}; traceback in "
                    f"{trial.path}/error.txt")


def trial_failure_cause(trial) -> str:
    """The cause from the last line of the trial's error file.  Tune's own multi-page traceback
    per failure is switched off (``nas_service.tune.experiment``); the whole traceback stays in
    that file."""
    path = trial.error_file
    return failure_cause(Path(path).read_text() if path and Path(path).is_file() else None)
