"""The keys of a trial's config: the contract between the searchers that propose trials and the
trainable that trains them.

Plain data, no torch or Ray, so that the searchers, the MLflow bookkeeping and the reports read a
trial's identity without importing the training stack.  Two shapes reach the trainable:

* a stage-wise proposal, ``{"depths": [m1, .., mS], "role": "A" | "T" | "final" | "reference",
  "iteration": k, "init_seed": s}``, plus the optional keys below;
* a point that Tune sampled from the depth space (random search, ASHA, TPE),
  ``{"stage_depths": {"m1": .., "mS": ..}}``, whose role is ``"sample"``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

STAGE_DEPTHS_KEY = "stage_depths"
SAMPLE_ROLE = "sample"
# the seed of a trial's initialisation and augmentation (default: the search's seed); a stage-wise
# iteration that retrains A and T after no stage grew gives them a new one
INIT_SEED_KEY = "init_seed"
# the 1-based index of a stage-wise network among the init seeds of its iteration, when the
# search scores more than one (``--score-seeds``): it tells ``it1-A-2-2-2-r1`` from ``-r2``
REPLICATE_KEY = "replicate"
# the audit's A and T (``nas_service.methods.audit``): the criteria to score the network's stages
# with, each without a bootstrap, at the end of each of the 1-based epochs ``SCORE_AT_KEY`` lists;
# reported as ``importance_by: {criterion: {s1: ..}}`` (``IMPORTANCE_BY_KEY``) in those epochs'
# results
SCORE_WITH_KEY, SCORE_AT_KEY, IMPORTANCE_BY_KEY = "score_with", "score_at", "importance_by"
# "init": "scratch" trains a trial from scratch although the search has a donor; "epochs"
# overrides the search's epochs for that trial (cross-data-set transfer trains a fine-tuned and a
# from-scratch copy of one network side by side)
INIT_KEY, EPOCHS_KEY = "init", "epochs"
SCRATCH, FROM_DONOR = "scratch", "donor"
# a continuation (``--final-epochs``): the trial that trained the network (its MLflow run is
# continued), the checkpoint it resumes from (relative to the experiment folder, or the full
# location of a data-parallel trial's, ``CHECKPOINT_LOCATION_KEY``) and the epochs
# it adds, at the last learning rate of the schedule
CONTINUES_KEY, CONTINUE_FROM_KEY, EXTRA_EPOCHS_KEY = "continues", "continue_from", "extra_epochs"
# the result key that holds where a data-parallel trial's latest checkpoint is (a folder or URI):
# Ray Train keeps it, so the Tune trial has none of its own
CHECKPOINT_LOCATION_KEY = "checkpoint_location"
# the result key of the paired bootstrap replicates of the stage scores
BOOTSTRAP_KEY = "importance_bootstrap"
# ``True`` in a trial's last result: the stage-wise searcher takes its scores at once instead of
# at the trial's end, so the next proposals are waiting when Tune stops the trial and can train in
# its process (a trainable without it is read when it ends)
LAST_RESULT_KEY = "last_result"
# ``True`` in the config of a trial that its searcher starts with no other trial of the search
# running or waiting (the stage-wise search's found network, T of an iteration whose A is reused, a
# single network): on CPUs it then holds the slots of the twin it has not got and trains with their
# threads (``nas_service.tune.cluster.TrialResources``)
ALONE_KEY = "alone"


def trial_config(depths: Sequence[int], role: str, iteration: int = 0, **options) -> dict:
    """A proposal-shaped trial config: the one way the searchers and methods build one.
    ``options`` are the optional keys above (``INIT_SEED_KEY``, ``EPOCHS_KEY``, ...)."""
    return {"depths": [int(m) for m in depths], "role": role, "iteration": int(iteration), **options}


def trial_identity(config: Mapping) -> tuple[tuple[int, ...], str, int]:
    """(depths, role, iteration) of a trial config, in either shape."""
    if "depths" in config:
        return tuple(int(m) for m in config["depths"]), config["role"], int(config["iteration"])
    stages = config[STAGE_DEPTHS_KEY]
    return tuple(int(stages[f"m{i + 1}"]) for i in range(len(stages))), SAMPLE_ROLE, 0
