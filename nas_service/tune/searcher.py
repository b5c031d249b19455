"""``StageWiseSearcher``: the stage-wise method as a Ray Tune searcher.

Each iteration needs two trained networks, A (the current depths) and T (every stage deepened by
delta), or 2k with ``score_seeds`` k (A and T from each of k init seeds); the searcher proposes
them at once, waits for their per-stage importances and lets the pure growth rule
(``nas_service.core.growth``) pick the next A.  After the last iteration it proposes the final
candidate, then the optional reference networks (e.g. uniform ResNets trained with the same
protocol, for comparison), then ``FINISHED``.

A network is identified by its depths *and* its initialisation seed, and every iteration trains
its networks from seeds of its own (``seeds_of``), as the authors' code retrains A-hat from a new
random initialisation every iteration.  So a decision never scores a T of the previous iteration
again as its A: that T was kept *because* its scores came out high, and comparing that lucky draw
once more would lean every later decision against growth (regression to the mean).  An
iteration in which no stage grows is followed by the next one, as in the authors' code
(``on_no_growth="retrain"``), or ends the search as converged (``"stop"``).  The one network
reused is the found one when the last iteration grew nothing: it is that iteration's A, the same
depths and seed.  The history names the run each score came from, so a reused network is shown as
reused.

All decisions live in the searcher's state, which ``save``/``restore`` hold whole.  A failed trial
ends the search: ``suggest`` returns ``FINISHED`` and ``error`` says why, instead of returning
``None`` forever (Tune would poll silently).
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Sequence
from typing import Any

import numpy as np
from ray.tune.search import Searcher

from nas_service.core.decisions import decision_record, describe_decision
from nas_service.core.growth import (
    deepen_all,
    grow_within_limits,
    seed_and_image_confidence,
    winning_stages,
)
from nas_service.core.trials import per_stage_from_result, run_name, stage_scores_from_result
from nas_service.tune.stagewise_options import StageWiseOptions
from trainables.trial_config import (
    ALONE_KEY,
    BOOTSTRAP_KEY,
    CHECKPOINT_LOCATION_KEY,
    CONTINUE_FROM_KEY,
    CONTINUES_KEY,
    EXTRA_EPOCHS_KEY,
    INIT_SEED_KEY,
    LAST_RESULT_KEY,
    REPLICATE_KEY,
    trial_config,
)

logger = logging.getLogger(__name__)

STATE_KEYS = (
    "iteration",
    "current",
    "final_seed",
    "queue",
    "live",
    "trained",
    "history",
    "final_depths",
    "done",
    "error",
    "failed_trial_id",
    "converged",
    "continued",
)


class StageWiseSearcher(Searcher):
    """Proposes ``{"depths", "role", "iteration", "init_seed"}`` configs following Algorithm 1.

    Args:
        initial_depths: m_1..m_S of the first A (the paper: 6 per stage).
        delta: modules added to a stage when it grows (2 for residual blocks).
        iterations: n; the search trains at most 2n + 1 networks (2kn + 1 with k score seeds).
        options: how it decides and what else it trains (``StageWiseOptions``; the paper's
            method by default).
        metric: the per-epoch measure trials report, which Tune requires; the searcher does
            not decide by it.
        mode: ``"max"`` or ``"min"``, whether ``metric`` is better high or low.
    """

    # decision lines not logged yet (``_announce``); a class default, so that a searcher that an
    # older version pickled (Tune gives a resumed search back its pickled searcher) has them too
    _announcements: tuple[str, ...] = ()

    def __init__(
        self,
        initial_depths: Sequence[int],
        delta: int,
        iterations: int,
        options: StageWiseOptions | None = None,
        metric: str = "val_accuracy",
        mode: str = "max",
    ) -> None:
        super().__init__(metric=metric, mode=mode)
        if not initial_depths or any(int(m) < 1 for m in initial_depths):
            raise ValueError(f"initial_depths {list(initial_depths)} must be positive integers")
        if delta < 1:
            raise ValueError(f"delta {delta} must be at least 1")
        if iterations < 1:
            raise ValueError(f"iterations {iterations} must be at least 1")
        self.delta = int(delta)
        self.iterations = int(iterations)
        self.options = options or StageWiseOptions()
        self.continued: dict[str, str | None] = {}  # trial id -> its continuation's (None: running)
        self.iteration = 1
        self.current: tuple[int, ...] = tuple(int(m) for m in initial_depths)
        # the seed the found network trains from: the next iteration's first, or the last A's
        self.final_seed = self.options.seed
        self.queue: list[dict] = []
        self.live: dict[str, dict] = {}
        self.trained: dict[tuple[tuple[int, ...], int], dict] = {}
        self.history: list[dict] = []
        self.final_depths: tuple[int, ...] | None = None
        if any(len(depths) != len(self.current) for depths in self.options.references):
            raise ValueError(
                f"references {list(self.options.references)} must have {len(self.current)} stages"
            )
        self.done = False
        self.error: str | None = None
        self.failed_trial_id: str | None = None
        self.converged: dict | None = None  # {"after_iteration": k, "reason": ...} when it ended early
        self._advance()

    @property
    def max_trials(self) -> int:
        """A and T of every seed per iteration, the final candidate and the references (one
        fewer when the found network is the last A, reused), and a continuation of each
        candidate with ``final_epochs``."""
        return sum(self.phase_sizes)

    @property
    def phase_sizes(self) -> tuple[int, ...]:
        """Trials per phase at most: each iteration's A and T, the found network, the references,
        the continuations of every candidate (each iteration's A, the found network, the
        references) with ``final_epochs``."""
        seeds, references = self.options.score_seeds, len(self.options.references)
        continued = self.iterations * seeds + 1 + references if self.options.final_epochs else 0
        return (
            (2 * seeds,) * self.iterations
            + (1,)
            + ((references,) if references else ())
            + ((continued,) if continued else ())
        )

    def seeds_of(self, iteration: int) -> list[int]:
        """The init seeds of iteration ``iteration``'s networks: new ones every iteration."""
        first = self.options.seed + (iteration - 1) * self.options.score_seeds
        return list(range(first, first + self.options.score_seeds))

    @property
    def searching(self) -> bool:
        return self.iteration <= self.iterations and self.converged is None

    def _needed(self) -> list[dict]:
        if self.searching:
            deeper = deepen_all(self.current, self.delta)
            replicated = self.options.score_seeds > 1
            return [
                self._proposal(depths, role, seed, index + 1 if replicated else None)
                for index, seed in enumerate(self.seeds_of(self.iteration))
                for depths, role in ((self.current, "A"), (deeper, "T"))
            ]
        if self.final_depths is None:
            return [self._proposal(self.current, "final", self.final_seed)]
        return [self._reference(depths) for depths in self.options.references]

    def _reference(self, depths: tuple[int, ...]) -> dict:
        return {"depths": depths, "role": "reference", "iteration": 0, INIT_SEED_KEY: self.options.seed}

    def candidates(self) -> list[dict]:
        """The trained entries of every candidate, once each: each iteration's A (of every
        seed), the found network and the references."""
        keys = [(step["depths_a"], seed) for step in self.history for seed in step["init_seeds"]]
        keys += [(self.final_depths, self.final_seed)] if self.final_depths else []
        keys += [self._key(self._reference(depths)) for depths in self.options.references]
        entries = {}
        for key in keys:
            if key in self.trained:
                entries.setdefault(self.trained[key]["trial_id"], self.trained[key])
        return list(entries.values())

    def _continuations(self) -> list[dict]:
        """A continuation of every candidate not continued yet."""
        proposals = []
        for entry in self.candidates():
            if entry["trial_id"] in self.continued:
                continue
            proposals.append(
                {
                    **entry["proposal"],
                    CONTINUES_KEY: entry["trial_id"],
                    CONTINUE_FROM_KEY: entry.get(CHECKPOINT_LOCATION_KEY)
                    or f"{entry['run_name']}_{entry['trial_id']}/{entry['checkpoint']}",
                    EXTRA_EPOCHS_KEY: self.options.final_epochs,
                }
            )
            self.continued[entry["trial_id"]] = None
        return proposals

    def _proposal(self, depths: tuple[int, ...], role: str, seed: int, replicate: int | None = None) -> dict:
        return {
            "depths": depths,
            "role": role,
            "iteration": self.iteration,
            INIT_SEED_KEY: seed,
            **({REPLICATE_KEY: replicate} if replicate else {}),
        }

    @staticmethod
    def _key(proposal: dict) -> tuple[tuple[int, ...], int]:
        return proposal["depths"], proposal[INIT_SEED_KEY]

    def _advance(self) -> None:
        """Queue what the current phase still needs; close phases whose networks are all trained."""
        while not self.done:
            needed = self._needed()
            in_flight = {self._key(p) for p in [*self.queue, *self.live.values()]}
            missing = [p for p in needed if self._key(p) not in self.trained]
            if missing:
                self.queue += [p for p in missing if self._key(p) not in in_flight]
                return
            if self.searching:
                self._close_iteration(needed[0::2], needed[1::2])
            elif self.final_depths is None:
                self.final_depths = self.current
            elif self.options.final_epochs and (
                None in self.continued.values() or len(self.continued) < len(self.candidates())
            ):
                self.queue += self._continuations()
                return
            else:
                self.done = True

    def _close_iteration(self, proposals_a: list[dict], proposals_t: list[dict]) -> None:
        """Decide on the iteration's A and T of every seed: a stage grows when its mean T score
        beats its mean A score (with one seed, the paper's T > A)."""
        trained_a = [self.trained[self._key(p)] for p in proposals_a]
        trained_t = [self.trained[self._key(p)] for p in proposals_t]
        per_seed_a = [entry["importance"] for entry in trained_a]
        per_seed_t = [entry["importance"] for entry in trained_t]
        scores_a = [float(np.mean(stage)) for stage in zip(*per_seed_a, strict=True)]
        scores_t = [float(np.mean(stage)) for stage in zip(*per_seed_t, strict=True)]
        confidence = None
        if all(entry["bootstrap"] for entry in (*trained_a, *trained_t)):
            confidence = seed_and_image_confidence(
                [entry["bootstrap"] for entry in trained_a],
                [entry["bootstrap"] for entry in trained_t],
                np.random.default_rng([self.options.seed, self.iteration]),
            )
        wins = winning_stages(scores_a, scores_t, confidence, self.options.min_confidence)
        gains = [t - a for a, t in zip(scores_a, scores_t, strict=True)]
        growth = grow_within_limits(
            self.current, wins, gains, self.delta, self.options.cost_of, self.options.limits
        )
        step = {
            "iteration": self.iteration,
            "init_seeds": [p[INIT_SEED_KEY] for p in proposals_a],
            "depths_a": proposals_a[0]["depths"],
            "depths_t": proposals_t[0]["depths"],
            "runs_a": [entry["run_name"] for entry in trained_a],
            "runs_t": [entry["run_name"] for entry in trained_t],
            "reused_a": any(
                e["run_name"] != run_name(p) for e, p in zip(trained_a, proposals_a, strict=True)
            ),
            "reused_t": any(
                e["run_name"] != run_name(p) for e, p in zip(trained_t, proposals_t, strict=True)
            ),
            "importance_a": scores_a,
            "importance_t": scores_t,
            "importance_a_per_seed": per_seed_a,
            "importance_t_per_seed": per_seed_t,
            "confidence": confidence,
            "wins": wins,
            "held_back": list(growth.held_back),
            "bound_by": list(growth.bound_by),
            "grown": growth.depths,
        }
        if growth.grew:
            step["outcome"] = "grew"
        elif growth.bound_by:
            step["outcome"] = f"converged: growing would exceed --max-{', --max-'.join(growth.bound_by)}"
        elif self.options.on_no_growth == "stop":
            step["outcome"] = "converged: no stage grew"
        else:
            step["outcome"] = "no stage grew: next iteration retrains A and T from a new initialisation"
        self.history.append(step)
        self._announce(describe_decision(decision_record(step)))
        if not growth.grew and (growth.bound_by or self.options.on_no_growth == "stop"):
            self.converged = {
                "after_iteration": self.iteration,
                "reason": step["outcome"].removeprefix("converged: "),
            }
        self.iteration += 1
        if growth.grew:
            self.current = growth.depths
        if growth.grew or (self.converged is None and self.iteration <= self.iterations):
            # the next iteration's networks, or a found network never trained: new seeds.  When
            # the last iteration grew nothing, the found network is its A (first seed), reused.
            self.final_seed = self.seeds_of(self.iteration)[0]

    def _announce(self, line: str) -> None:
        """Hold ``line`` for ``log_announcements``: Tune hands a trial's last result to the
        searcher before its callbacks, so a decision logged at once would come before the
        console line of the network it was taken on."""
        self._announcements = (*self._announcements, line)

    def log_announcements(self) -> None:
        """Log the decisions held back; Tune's next request for a proposal (``suggest``) comes
        after the callbacks have seen the result that closed them."""
        for line in self._announcements:
            logger.info(line)
        self._announcements = ()

    def suggest(self, trial_id: str) -> dict | None:
        self.log_announcements()
        if self.error is not None:
            return Searcher.FINISHED
        if self.queue:
            proposal = self.queue.pop(0)
            alone = not self.queue and not self.live
            self.live[trial_id] = proposal
            return trial_config(**proposal, **({ALONE_KEY: True} if alone else {}))
        if self.done:
            return Searcher.FINISHED
        return None

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        """A result marked as the trial's last (``LAST_RESULT_KEY``) is taken at once.  The next
        proposals are then waiting when Tune stops the trial, and Tune hands the stopped trial's
        process to one of them (``reuse_actors``) instead of starting a new one, which costs
        seconds (torch, codecarbon).  Unmarked results wait for the trial's end: a trainable may
        report scores every epoch."""
        proposal = self.live.get(trial_id)
        if proposal is None or CONTINUES_KEY in proposal or not result.get(LAST_RESULT_KEY):
            return
        self.on_trial_complete(trial_id, result)

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        proposal = self.live.pop(trial_id, None)
        if proposal is None:  # taken with its scores already, or not ours
            return
        name = run_name(proposal)
        if CONTINUES_KEY in proposal:
            if error:
                self.error = f"trial {trial_id} (continuing {name}) did not finish: it failed"
                self.failed_trial_id = trial_id
                return
            self.continued[proposal[CONTINUES_KEY]] = trial_id
            self._advance()
            return
        num_stages = len(proposal["depths"])
        scores = None if result is None else stage_scores_from_result(result, num_stages)
        if error or scores is None:
            reason = "it failed" if error else "it reported no per-stage importance"
            self.error = f"trial {trial_id} ({name}) did not finish: {reason}"
            self.failed_trial_id = trial_id
            return
        bootstrap = per_stage_from_result(result, BOOTSTRAP_KEY, num_stages)
        if bootstrap is None and self.options.min_confidence > 0:
            self.error = (
                f"trial {trial_id} ({name}) reported no bootstrap scores, which "
                f"min_confidence {self.options.min_confidence} needs"
            )
            self.failed_trial_id = trial_id
            return
        self.trained[self._key(proposal)] = {
            "trial_id": trial_id,
            "run_name": name,
            "importance": scores,
            "proposal": proposal,
            "checkpoint": (result or {}).get("checkpoint_dir_name"),
            CHECKPOINT_LOCATION_KEY: (result or {}).get(CHECKPOINT_LOCATION_KEY),
            "bootstrap": None if bootstrap is None else [list(map(float, b)) for b in bootstrap],
            self.metric: (result or {}).get(self.metric),
        }
        self._advance()

    def final_run_name(self) -> str | None:
        """The run that trained the found network (possibly an earlier A, reused)."""
        if self.final_depths is None:
            return None
        return self.trained.get((self.final_depths, self.final_seed), {}).get("run_name")

    def get_state(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in ("delta", "iterations", "options", *STATE_KEYS)}

    def set_state(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            setattr(self, key, value)

    def save(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "wb") as handle:
            pickle.dump(self.get_state(), handle)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "rb") as handle:
            self.set_state(pickle.load(handle))
