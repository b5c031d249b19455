"""The Tune function trainable: train one candidate, in the trial's own process or data-parallel.

With one worker per trial the Tune trial trains the candidate itself (``train_loop``).  With
``--workers-per-trial N`` it is only the driver of a Ray Train run (``data_parallel``): N
workers train the candidate with DDP and rank 0's reports reach Tune through Ray's
Train-to-Tune callback.  Either way the searcher and the MLflow runs see the same reports.
"""

from __future__ import annotations

from trainables.data_parallel import fit_data_parallel
from trainables.sessions import TuneSession
from trainables.settings import TrialSettings
from trainables.train_loop import train_network


def train_candidate(config: dict, settings: TrialSettings, scorers: list) -> None:
    """Tune trainable; ``config`` is a stage-wise proposal or a sampled point (``trial_identity``)."""
    if settings.workers_per_trial > 1:
        fit_data_parallel(config, settings, scorers)
    else:
        train_network(config, settings, scorers, TuneSession())
