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


class FixedSearcher(Searcher):
    def __init__(self, configs: Sequence[dict], metric: str = "val_accuracy",
                 mode: str = "max") -> None:
        super().__init__(metric=metric, mode=mode)
        self.pending = [dict(config) for config in configs]

    def suggest(self, trial_id: str) -> dict | None:
        return self.pending.pop(0) if self.pending else Searcher.FINISHED

    def on_trial_complete(self, trial_id: str, result: dict | None = None,
                          error: bool = False) -> None:
        """Nothing to learn: the list is fixed."""

    def save(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "wb") as handle:
            pickle.dump(self.pending, handle)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "rb") as handle:
            self.pending = pickle.load(handle)
