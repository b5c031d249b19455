"""``StageWiseSearcher``: the stage-wise method as a Ray Tune searcher.

Each iteration needs two trained networks, A (the current depths) and T (every stage deepened by
delta); the searcher proposes both at once, waits for their per-stage importances and lets the
pure growth rule (``nas_service.core.growth``) pick the next A.  After the last iteration it proposes the
final candidate, then the optional reference networks (e.g. uniform ResNets trained with the same
protocol, for comparison), then ``FINISHED``.

A network is identified by its depths *and* its initialisation seed.  An iteration in which no
stage grows is, as in the authors' code, followed by one that trains A and T again from a new
initialisation (``on_no_growth="retrain"``), or it ends the search as converged (``"stop"``).  A
network already trained with the same depths and seed is reused, never retrained: A of iteration
k+1 equals T of k when every stage grew, and the final candidate is the last A when the last
iteration grew nothing.  The history names the run each score came from, so a reused network is
shown as reused.

All decisions live in the searcher's state, which ``save``/``restore`` hold whole.  A failed trial
ends the search: ``suggest`` returns ``FINISHED`` and ``error`` says why, instead of returning
``None`` forever (Tune would poll silently).
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ray.tune.search import Searcher

from nas_service.core.decisions import decision_record, describe_decision
from nas_service.core.growth import (
    NO_GROWTH_POLICIES,
    deepen_all,
    grow_within_limits,
    stage_confidence,
    winning_stages,
)
from nas_service.core.trials import per_stage_from_result, run_name, stage_scores_from_result
from trainables.trial_config import (
    ALONE_KEY,
    BOOTSTRAP_KEY,
    CHECKPOINT_LOCATION_KEY,
    CONTINUE_FROM_KEY,
    CONTINUES_KEY,
    EXTRA_EPOCHS_KEY,
    INIT_SEED_KEY,
    LAST_RESULT_KEY,
    trial_config,
)

logger = logging.getLogger(__name__)

STATE_KEYS = ("iteration", "current", "init_seed", "queue", "live", "trained", "history",
              "final_depths", "references", "done", "error", "failed_trial_id", "converged",
              "continued")


class StageWiseSearcher(Searcher):
    """Proposes ``{"depths", "role", "iteration", "init_seed"}`` configs following Algorithm 1.

    Args:
        initial_depths: m_1..m_S of the first A (the paper: 6 per stage).
        delta: modules added to a stage when it grows (2 for residual blocks).
        iterations: n; the search trains at most 2n + 1 networks.
        references: depths of networks to train after the search with the same protocol.
        seed: initialisation seed of the first iteration (later ones derive theirs from it).
        on_no_growth: ``"retrain"`` A and T from a new initialisation in the next iteration (the
            authors' code) or ``"stop"`` the search as converged.
        min_confidence: a stage grows only when the bootstrap probability that T's score beats
            A's is at least this (0: the paper's plain ``>``; needs bootstrap scores otherwise).
        limits: upper bounds on the grown network's costs, e.g. ``{"macs": 5e7}``.
        cost_of: depths -> costs under the names ``limits`` uses (needed with ``limits``).
        final_epochs: after the references, every candidate (each iteration's A, the found
            network, the references) continues this many epochs from its checkpoint, as a trial
            of its own that logs into the candidate's run (the paper's +100 epochs).
        metric, mode: the per-epoch metric trials report (Tune requires one); not used to decide.
    """

    # decision lines not logged yet (``_announce``); a class default, so that a searcher that an
    # older version pickled (Tune gives a resumed search back its pickled searcher) has them too
    _announcements: tuple[str, ...] = ()

    def __init__(self, initial_depths: Sequence[int], delta: int, iterations: int,
                 references: Sequence[Sequence[int]] = (), seed: int = 0,
                 on_no_growth: str = "retrain", min_confidence: float = 0.0,
                 limits: Mapping[str, float] | None = None,
                 cost_of: Callable[[tuple[int, ...]], Mapping[str, float]] | None = None,
                 final_epochs: int = 0, metric: str = "val_accuracy", mode: str = "max") -> None:
        super().__init__(metric=metric, mode=mode)
        if not initial_depths or any(int(m) < 1 for m in initial_depths):
            raise ValueError(f"initial_depths {list(initial_depths)} must be positive integers")
        if delta < 1:
            raise ValueError(f"delta {delta} must be at least 1")
        if iterations < 1:
            raise ValueError(f"iterations {iterations} must be at least 1")
        if on_no_growth not in NO_GROWTH_POLICIES:
            raise ValueError(f"on_no_growth {on_no_growth!r} must be one of "
                             f"{', '.join(NO_GROWTH_POLICIES)}")
        if not 0 <= min_confidence <= 1:
            raise ValueError(f"min_confidence {min_confidence} must be in [0, 1]")
        if limits and cost_of is None:
            raise ValueError(f"limits {dict(limits)} need cost_of")
        self.delta = int(delta)
        self.iterations = int(iterations)
        self.seed = int(seed)
        self.on_no_growth = on_no_growth
        self.min_confidence = float(min_confidence)
        self.limits = dict(limits or {})
        self.cost_of = cost_of
        self.final_epochs = int(final_epochs)
        self.continued: dict[str, str | None] = {}  # trial id -> its continuation's (None: running)
        self.iteration = 1
        self.current: tuple[int, ...] = tuple(int(m) for m in initial_depths)
        self.init_seed = self.seed
        self.queue: list[dict] = []
        self.live: dict[str, dict] = {}
        self.trained: dict[tuple[tuple[int, ...], int], dict] = {}
        self.history: list[dict] = []
        self.final_depths: tuple[int, ...] | None = None
        self.references = [tuple(int(m) for m in depths) for depths in references]
        if any(len(depths) != len(self.current) for depths in self.references):
            raise ValueError(f"references {self.references} must have {len(self.current)} stages")
        self.done = False
        self.error: str | None = None
        self.failed_trial_id: str | None = None
        self.converged: dict | None = None  # {"after_iteration": k, "reason": ...} when it ended early
        self._advance()

    @property
    def max_trials(self) -> int:
        """A and T per iteration, the final candidate and the references (fewer when reused),
        and a continuation of each candidate with ``final_epochs``."""
        trained = 2 * self.iterations + 1 + len(self.references)
        candidates = self.iterations + 1 + len(self.references)
        return trained + (candidates if self.final_epochs else 0)

    @property
    def searching(self) -> bool:
        return self.iteration <= self.iterations and self.converged is None

    def _needed(self) -> list[dict]:
        if self.searching:
            return [self._proposal(self.current, "A"),
                    self._proposal(deepen_all(self.current, self.delta), "T")]
        if self.final_depths is None:
            return [self._proposal(self.current, "final")]
        return [self._reference(depths) for depths in self.references]

    def _reference(self, depths: tuple[int, ...]) -> dict:
        return {"depths": depths, "role": "reference", "iteration": 0, INIT_SEED_KEY: self.seed}

    def candidates(self) -> list[dict]:
        """The trained entries of every candidate, once each: each iteration's A (possibly a
        reused T), the found network and the references."""
        keys = [(step["depths_a"], step["init_seed"]) for step in self.history]
        keys += [(self.final_depths, self.init_seed)] if self.final_depths else []
        keys += [self._key(self._reference(depths)) for depths in self.references]
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
            proposals.append({**entry["proposal"], CONTINUES_KEY: entry["trial_id"],
                              CONTINUE_FROM_KEY: entry.get(CHECKPOINT_LOCATION_KEY)
                              or f"{entry['run_name']}_{entry['trial_id']}/{entry['checkpoint']}",
                              EXTRA_EPOCHS_KEY: self.final_epochs})
            self.continued[entry["trial_id"]] = None
        return proposals

    def _proposal(self, depths: tuple[int, ...], role: str) -> dict:
        return {"depths": depths, "role": role, "iteration": self.iteration,
                INIT_SEED_KEY: self.init_seed}

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
                self._close_iteration(needed[0], needed[1])
            elif self.final_depths is None:
                self.final_depths = self.current
            elif self.final_epochs and (None in self.continued.values()
                                        or len(self.continued) < len(self.candidates())):
                self.queue += self._continuations()
                return
            else:
                self.done = True

    def _close_iteration(self, proposal_a: dict, proposal_t: dict) -> None:
        trained_a, trained_t = self.trained[self._key(proposal_a)], self.trained[self._key(proposal_t)]
        scores_a, scores_t = trained_a["importance"], trained_t["importance"]
        confidence = None
        if trained_a["bootstrap"] and trained_t["bootstrap"]:
            confidence = stage_confidence(trained_a["bootstrap"], trained_t["bootstrap"])
        wins = winning_stages(scores_a, scores_t, confidence, self.min_confidence)
        gains = [t - a for a, t in zip(scores_a, scores_t, strict=True)]
        growth = grow_within_limits(self.current, wins, gains, self.delta, self.cost_of,
                                    self.limits)
        step = {"iteration": self.iteration, "init_seed": self.init_seed,
                "depths_a": proposal_a["depths"], "depths_t": proposal_t["depths"],
                "run_a": trained_a["run_name"], "run_t": trained_t["run_name"],
                "reused_a": trained_a["run_name"] != run_name(proposal_a),
                "reused_t": trained_t["run_name"] != run_name(proposal_t),
                "importance_a": scores_a, "importance_t": scores_t, "confidence": confidence,
                "wins": wins, "held_back": list(growth.held_back),
                "bound_by": list(growth.bound_by), "grown": growth.depths}
        if growth.grew:
            step["outcome"] = "grew"
        elif growth.bound_by:
            step["outcome"] = f"converged: growing would exceed --max-{', --max-'.join(growth.bound_by)}"
        elif self.on_no_growth == "stop":
            step["outcome"] = "converged: no stage grew"
        else:
            step["outcome"] = "no stage grew: next iteration retrains A and T from a new initialisation"
        self.history.append(step)
        self._announce(describe_decision(decision_record(step)))
        if not growth.grew and (growth.bound_by or self.on_no_growth == "stop"):
            self.converged = {"after_iteration": self.iteration,
                              "reason": step["outcome"].removeprefix("converged: ")}
        self.iteration += 1
        if growth.grew:
            self.current = growth.depths
        elif self.converged is None and self.iteration <= self.iterations:
            self.init_seed = self.seed + self.iteration - 1  # a new initialisation per retrain

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

    def on_trial_complete(self, trial_id: str, result: dict | None = None,
                          error: bool = False) -> None:
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
        if bootstrap is None and self.min_confidence > 0:
            self.error = (f"trial {trial_id} ({name}) reported no bootstrap scores, which "
                          f"min_confidence {self.min_confidence} needs")
            self.failed_trial_id = trial_id
            return
        self.trained[self._key(proposal)] = {
            "trial_id": trial_id, "run_name": name, "importance": scores, "proposal": proposal,
            "checkpoint": (result or {}).get("checkpoint_dir_name"),
            CHECKPOINT_LOCATION_KEY: (result or {}).get(CHECKPOINT_LOCATION_KEY),
            "bootstrap": None if bootstrap is None else [list(map(float, b)) for b in bootstrap],
            self.metric: (result or {}).get(self.metric)}
        self._advance()

    def final_run_name(self) -> str | None:
        """The run that trained the found network (possibly an earlier A, reused)."""
        if self.final_depths is None:
            return None
        return self.trained.get((self.final_depths, self.init_seed), {}).get("run_name")

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
