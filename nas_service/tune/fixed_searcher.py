"""``FixedSearcher``: a Tune searcher that proposes a given list of trial configs, in order.

Tune's ``BasicVariantGenerator(points_to_evaluate=...)`` needs every key of the points in a
``param_space``; a fixed list of whole configs (cross-data-set transfer: one network from scratch,
the same fine-tuned, references) is simpler as a searcher whose state is the list left to propose,
which Tune saves with the experiment so a resumed run proposes only what was not started.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence

from ray.tune.search import Searcher

from trainables.trial_config import ALONE_KEY


class FixedSearcher(Searcher):
    def __init__(self, configs: Sequence[dict], metric: str = "val_accuracy", mode: str = "max") -> None:
        super().__init__(metric=metric, mode=mode)
        self.pending = [dict(config) for config in configs]
        self.running: set[str] = set()

    def suggest(self, trial_id: str) -> dict | None:
        if not self.pending:
            return Searcher.FINISHED
        config = self.pending.pop(0)
        if not self.pending and not self.running:
            config[ALONE_KEY] = True
        self.running.add(trial_id)
        return config

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        """Nothing to learn (the list is fixed); one trial fewer running."""
        self.running.discard(trial_id)

    def save(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "wb") as handle:
            pickle.dump((self.pending, self.running), handle)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "rb") as handle:
            state = pickle.load(handle)
        # a search saved before ``running`` existed saved the pending list alone
        self.pending, self.running = state if isinstance(state, tuple) else (state, set())
