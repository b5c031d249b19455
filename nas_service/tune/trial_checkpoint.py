"""A trial's latest checkpoint, wherever it is kept.

A trial that trains in its own process reports its checkpoints to Tune.  A data-parallel one
(``--workers-per-trial``) leaves them to its Ray Train run, and its reports name where
(``CHECKPOINT_LOCATION_KEY``).  Whoever reads a trained network asks here.
"""

from __future__ import annotations

from collections.abc import Mapping

from ray import tune

from trainables.trial_config import CHECKPOINT_LOCATION_KEY


def latest_checkpoint(checkpoint: tune.Checkpoint | None,
                      metrics: Mapping | None) -> tune.Checkpoint | None:
    """Tune's ``checkpoint`` of a trial (a ``Result``'s, a ``Trial``'s) or, for a data-parallel
    trial, the one its last result (``metrics``) names; ``None`` when it has none."""
    if checkpoint is not None:
        return checkpoint
    location = (metrics or {}).get(CHECKPOINT_LOCATION_KEY)
    return tune.Checkpoint(location) if location else None
