"""``StageWiseSearcher``: the stage-wise method as a Ray Tune searcher.

Each iteration needs two trained networks, A (the current depths) and T (every stage deepened by
delta); the searcher proposes both at once, waits for their per-stage importances and lets the
pure growth rule (``nas_service.growth``) pick the next A.  After the last iteration it proposes the
final candidate, then the optional reference networks (e.g. uniform ResNets trained with the same
protocol, for comparison), then ``FINISHED``.  An architecture already trained in this search (A of iteration
k+1 is A-hat of k, and can equal T of k) is reused, never retrained.

All decisions live in the searcher's state, which ``save``/``restore`` hold whole.  A failed trial
ends the search: ``suggest`` returns ``FINISHED`` and ``error`` says why, instead of returning
``None`` forever (Tune would poll silently; RAY_NOTES.md).
"""

from __future__ import annotations

import pickle
from typing import Any, Sequence

from ray.tune.search import Searcher

from nas_service.growth import deepen_all, grow_depths
from trainables.spec import format_depths
from trainables.trainable import trial_identity

STATE_KEYS = ("iteration", "current", "queue", "live", "trained", "history", "final_depths",
              "references", "done", "error", "failed_trial_id")


def run_name(config: dict) -> str:
    """The trial's and the MLflow run's name: ``it2-T-8-10-6``, ``final-10-12-8``, ``sample-4-6-4``."""
    depths, role, iteration = trial_identity(config)
    if role in ("A", "T"):
        return f"it{iteration}-{role}-{format_depths(depths)}"
    return f"{role}-{format_depths(depths)}"


def stage_scores_from_result(result: dict, num_stages: int) -> list[float] | None:
    """Per-stage importance from a trial result, nested (``importance: {s1: ..}``) or flattened."""
    nested = result.get("importance")
    try:
        if isinstance(nested, dict):
            return [float(nested[f"s{i + 1}"]) for i in range(num_stages)]
        return [float(result[f"importance/s{i + 1}"]) for i in range(num_stages)]
    except KeyError:
        return None


class StageWiseSearcher(Searcher):
    """Proposes ``{"depths", "role", "iteration"}`` configs following Algorithm 1.

    Args:
        initial_depths: m_1..m_S of the first A (the paper: 6 per stage).
        delta: modules added to a stage when it grows (2 for residual blocks).
        iterations: n; the search trains at most 2n + 1 networks.
        references: depths of networks to train after the search with the same protocol.
        metric, mode: the per-epoch metric trials report (Tune requires one); not used to decide.
    """

    def __init__(self, initial_depths: Sequence[int], delta: int, iterations: int,
                 references: Sequence[Sequence[int]] = (), metric: str = "val_accuracy",
                 mode: str = "max") -> None:
        super().__init__(metric=metric, mode=mode)
        if not initial_depths or any(int(m) < 1 for m in initial_depths):
            raise ValueError(f"initial_depths {list(initial_depths)} must be positive integers")
        if delta < 1:
            raise ValueError(f"delta {delta} must be at least 1")
        if iterations < 1:
            raise ValueError(f"iterations {iterations} must be at least 1")
        self.delta = int(delta)
        self.iterations = int(iterations)
        self.iteration = 1
        self.current: tuple[int, ...] = tuple(int(m) for m in initial_depths)
        self.queue: list[dict] = []
        self.live: dict[str, dict] = {}
        self.trained: dict[tuple[int, ...], dict] = {}
        self.history: list[dict] = []
        self.final_depths: tuple[int, ...] | None = None
        self.references = [tuple(int(m) for m in depths) for depths in references]
        if any(len(depths) != len(self.current) for depths in self.references):
            raise ValueError(f"references {self.references} must have {len(self.current)} stages")
        self.done = False
        self.error: str | None = None
        self.failed_trial_id: str | None = None
        self._advance()

    @property
    def max_trials(self) -> int:
        """A and T per iteration, the final candidate and the references (fewer when reused)."""
        return 2 * self.iterations + 1 + len(self.references)

    def _needed(self) -> list[dict]:
        if self.iteration <= self.iterations:
            return [{"depths": self.current, "role": "A", "iteration": self.iteration},
                    {"depths": deepen_all(self.current, self.delta), "role": "T",
                     "iteration": self.iteration}]
        if self.final_depths is None:
            return [{"depths": self.current, "role": "final", "iteration": self.iteration}]
        return [{"depths": depths, "role": "reference", "iteration": 0} for depths in self.references]

    def _advance(self) -> None:
        """Queue what the current phase still needs; close phases whose networks are all trained."""
        while not self.done:
            needed = self._needed()
            in_flight = {proposal["depths"] for proposal in [*self.queue, *self.live.values()]}
            missing = [p for p in needed if p["depths"] not in self.trained]
            if missing:
                self.queue += [p for p in missing if p["depths"] not in in_flight]
                return
            if self.iteration <= self.iterations:
                self._close_iteration(needed[0]["depths"], needed[1]["depths"])
            elif self.final_depths is None:
                self.final_depths = self.current
            else:
                self.done = True

    def _close_iteration(self, depths_a: tuple[int, ...], depths_t: tuple[int, ...]) -> None:
        scores_a = self.trained[depths_a]["importance"]
        scores_t = self.trained[depths_t]["importance"]
        grown = grow_depths(depths_a, scores_a, scores_t, self.delta)
        self.history.append({"iteration": self.iteration, "depths_a": depths_a,
                             "depths_t": depths_t, "importance_a": scores_a,
                             "importance_t": scores_t, "grown": grown})
        self.current = grown
        self.iteration += 1

    def suggest(self, trial_id: str) -> dict | None:
        if self.error is not None:
            return Searcher.FINISHED
        if self.queue:
            proposal = self.queue.pop(0)
            self.live[trial_id] = proposal
            return {**proposal, "depths": list(proposal["depths"])}
        if self.done:
            return Searcher.FINISHED
        return None

    def on_trial_complete(self, trial_id: str, result: dict | None = None,
                          error: bool = False) -> None:
        proposal = self.live.pop(trial_id, None)
        if proposal is None:
            return
        name = run_name(proposal)
        scores = None if result is None else stage_scores_from_result(result, len(proposal["depths"]))
        if error or scores is None:
            reason = "it failed" if error else "it reported no per-stage importance"
            self.error = f"trial {trial_id} ({name}) did not finish: {reason}"
            self.failed_trial_id = trial_id
            return
        self.trained[proposal["depths"]] = {"trial_id": trial_id, "importance": scores,
                                            self.metric: (result or {}).get(self.metric)}
        self._advance()

    def get_state(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in ("delta", "iterations", *STATE_KEYS)}

    def set_state(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            setattr(self, key, value)

    def save(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "wb") as handle:
            pickle.dump(self.get_state(), handle)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "rb") as handle:
            self.set_state(pickle.load(handle))
