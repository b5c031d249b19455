"""The searcher's decisions, driven directly through its Tune interface (no Tune loop needed)."""

import pytest
from ray.tune.search import Searcher

from nas_service.core.trials import run_name
from nas_service.tune.fixed_searcher import FixedSearcher
from nas_service.tune.searcher import StageWiseSearcher
from nas_service.tune.stagewise_options import StageWiseOptions
from trainables.trial_config import ALONE_KEY, LAST_RESULT_KEY, trial_config

TRIAL_COUNTER = iter(range(10_000))


def propose_all(searcher):
    """Ask for trials until the searcher has nothing more now; returns {trial_id: config}."""
    proposals = {}
    while True:
        trial_id = f"t{next(TRIAL_COUNTER)}"
        config = searcher.suggest(trial_id)
        if config is None or config == Searcher.FINISHED:
            return proposals, config
        proposals[trial_id] = config


def finish(searcher, trial_id, scores):
    searcher.on_trial_complete(
        trial_id, {"val_accuracy": 0.9, "importance": {f"s{i + 1}": score for i, score in enumerate(scores)}}
    )


def test_two_iterations_train_a_t_a_t_final():
    searcher = StageWiseSearcher((6, 6, 6), delta=2, iterations=2)
    trained = []
    # iteration 1: A=6-6-6 and T=8-8-8 are proposed together
    proposals, rest = propose_all(searcher)
    assert rest is None
    assert sorted((c["role"], tuple(c["depths"])) for c in proposals.values()) == [
        ("A", (6, 6, 6)),
        ("T", (8, 8, 8)),
    ]
    scores = {"A": [0.5, 0.5, 0.5], "T": [0.6, 0.4, 0.5]}  # only stage 1 grows
    for trial_id, config in proposals.items():
        finish(searcher, trial_id, scores[config["role"]])
        trained.append(run_name(config))
    # iteration 2: A=8-6-6 (the grown one, trained for the first time), T=10-8-8
    proposals, _ = propose_all(searcher)
    assert sorted(tuple(c["depths"]) for c in proposals.values()) == [(8, 6, 6), (10, 8, 8)]
    scores = {"A": [0.5, 0.5, 0.5], "T": [0.4, 0.7, 0.5]}  # only stage 2 grows
    for trial_id, config in proposals.items():
        finish(searcher, trial_id, scores[config["role"]])
        trained.append(run_name(config))
    proposals, _ = propose_all(searcher)
    assert [(c["role"], tuple(c["depths"])) for c in proposals.values()] == [("final", (8, 8, 6))]
    ((trial_id, config),) = proposals.items()
    finish(searcher, trial_id, [0.5, 0.5, 0.5])
    assert searcher.suggest("last") == Searcher.FINISHED
    assert searcher.final_depths == (8, 8, 6)
    assert [step["grown"] for step in searcher.history] == [(8, 6, 6), (8, 8, 6)]
    assert sorted(trained) == ["it1-A-6-6-6", "it1-T-8-8-8", "it2-A-8-6-6", "it2-T-10-8-8"]


def test_every_iteration_trains_a_fresh_a_never_the_previous_t():
    """T of iteration 1 won every stage, so its scores came out high: iteration 2 compares a new
    A of the same depths, from its own seed, not that lucky draw again."""
    searcher = StageWiseSearcher((2, 2), delta=1, iterations=2, options=StageWiseOptions(seed=5))
    proposals, _ = propose_all(searcher)
    for trial_id, config in proposals.items():
        finish(searcher, trial_id, [0.1, 0.1] if config["role"] == "A" else [0.9, 0.9])
    proposals, _ = propose_all(searcher)
    assert sorted((run_name(c), c["init_seed"]) for c in proposals.values()) == [
        ("it2-A-3-3", 6),
        ("it2-T-4-4", 6),
    ]
    for trial_id, config in proposals.items():
        finish(searcher, trial_id, [0.5, 0.5] if config["role"] == "A" else [0.4, 0.4])
    # nothing grew in the last iteration: the found network is its A, the one network reused
    assert propose_all(searcher) == ({}, Searcher.FINISHED)
    assert searcher.final_run_name() == "it2-A-3-3"
    assert [(step["runs_a"], step["reused_a"]) for step in searcher.history] == [
        (["it1-A-2-2"], False),
        (["it2-A-3-3"], False),
    ]


def test_a_found_network_that_grew_is_trained_from_a_new_seed():
    """The found network equals the last T's depths when every stage grew, but that T was chosen
    for its high scores: the found network is trained anew, never that T reused."""
    searcher = StageWiseSearcher((1, 1), delta=1, iterations=1, options=StageWiseOptions(seed=3))
    for trial_id, config in propose_all(searcher)[0].items():
        finish(searcher, trial_id, [0.1, 0.1] if config["role"] == "A" else [0.9, 0.9])
    ((trial_id, config),) = propose_all(searcher)[0].items()
    assert (run_name(config), config["init_seed"]) == ("final-2-2", 4)
    finish(searcher, trial_id, [0.5, 0.5])
    assert searcher.final_run_name() == "final-2-2" and searcher.suggest("x") == Searcher.FINISHED


def test_only_a_network_with_no_twin_is_marked_alone():
    """A and T side by side are not alone; T of an iteration whose A is reused and the found
    network are, so that on CPUs they hold the missing twin's CPUs."""
    searcher = StageWiseSearcher((2, 2), delta=1, iterations=2)
    proposals, _ = propose_all(searcher)
    assert [config.get(ALONE_KEY) for config in proposals.values()] == [None, None]
    for trial_id, config in proposals.items():
        finish(searcher, trial_id, [0.1, 0.1] if config["role"] == "A" else [0.9, 0.9])
    proposals, _ = propose_all(searcher)  # a fresh A = 3-3 beside T = 4-4: not alone
    assert [config.get(ALONE_KEY) for config in proposals.values()] == [None, None]
    for trial_id, config in proposals.items():  # nothing grows: the found network is A, reused
        finish(searcher, trial_id, [0.5, 0.5] if config["role"] == "A" else [0.1, 0.1])
    assert propose_all(searcher) == ({}, Searcher.FINISHED)

    searcher = StageWiseSearcher((2, 2), delta=1, iterations=1)
    for trial_id, config in propose_all(searcher)[0].items():
        finish(searcher, trial_id, [0.1, 0.1] if config["role"] == "A" else [0.9, 0.05])
    ((trial_id, config),) = propose_all(searcher)[0].items()
    assert (config["role"], config["depths"], config[ALONE_KEY]) == ("final", [3, 2], True)
    assert ALONE_KEY not in searcher.live[trial_id]  # the mark is the suggestion's, not the state's


def test_fixed_trials_are_alone_only_when_no_other_runs_or_waits():
    searcher = FixedSearcher(
        [trial_config((2, 2), "single"), trial_config((3, 3), "reference"), trial_config((4, 4), "reference")]
    )
    first, second = searcher.suggest("a"), searcher.suggest("b")
    assert ALONE_KEY not in first and ALONE_KEY not in second
    searcher.on_trial_complete("a")
    assert ALONE_KEY not in searcher.suggest("c")  # "b" still runs
    assert FixedSearcher([trial_config((2, 2), "single")]).suggest("x")[ALONE_KEY] is True


def test_no_growth_retrains_a_and_t_from_a_new_initialisation():
    searcher = StageWiseSearcher((6, 6, 6), delta=2, iterations=2, options=StageWiseOptions(seed=7))
    proposals, _ = propose_all(searcher)
    assert {c["init_seed"] for c in proposals.values()} == {7}
    for trial_id, config in proposals.items():
        finish(searcher, trial_id, [0.5] * 3 if config["role"] == "A" else [0.4] * 3)
    # iteration 2 trains the same depths again, as new trials with a new seed
    proposals, rest = propose_all(searcher)
    assert rest is None
    assert sorted((run_name(c), c["init_seed"]) for c in proposals.values()) == [
        ("it2-A-6-6-6", 8),
        ("it2-T-8-8-8", 8),
    ]
    for trial_id, config in proposals.items():
        finish(searcher, trial_id, [0.5] * 3 if config["role"] == "A" else [0.4] * 3)
    # nothing grew again: the found network is it2-A-6-6-6 itself (same depths and seed)
    assert propose_all(searcher) == ({}, Searcher.FINISHED)
    assert searcher.final_depths == (6, 6, 6) and searcher.final_run_name() == "it2-A-6-6-6"
    assert [step["outcome"].split(":")[0] for step in searcher.history] == ["no stage grew"] * 2
    assert searcher.converged is None and len(searcher.history) == 2


def test_no_growth_stops_as_converged_under_stop():
    searcher = StageWiseSearcher(
        (6, 6, 6), delta=2, iterations=5, options=StageWiseOptions(on_no_growth="stop")
    )
    proposals, _ = propose_all(searcher)
    for trial_id, config in proposals.items():
        finish(searcher, trial_id, [0.5] * 3 if config["role"] == "A" else [0.4] * 3)
    assert propose_all(searcher) == ({}, Searcher.FINISHED)
    assert searcher.converged == {"after_iteration": 1, "reason": "no stage grew"}
    # one iteration ran and only one is recorded; the found network is it1-A, reused
    assert len(searcher.history) == 1 and searcher.final_run_name() == "it1-A-6-6-6"


def test_score_seeds_train_a_and_t_from_every_seed_and_decide_on_the_mean_difference():
    searcher = StageWiseSearcher(
        (1, 1), delta=1, iterations=2, options=StageWiseOptions(seed=10, score_seeds=2)
    )
    assert searcher.max_trials == 2 * 2 * 2 + 1 and searcher.phase_sizes == (4, 4, 1)
    proposals, _ = propose_all(searcher)
    assert sorted((run_name(c), c["init_seed"]) for c in proposals.values()) == [
        ("it1-A-1-1-r1", 10),
        ("it1-A-1-1-r2", 11),
        ("it1-T-2-2-r1", 10),
        ("it1-T-2-2-r2", 11),
    ]
    # stage 1: T - A = +0.3 (seed 10) and -0.1 (seed 11), mean +0.1: grows although seed 11 says
    # no; stage 2: +0.05 and -0.2, mean -0.075: stays
    scores = {("A", 10): [0.5, 0.5], ("T", 10): [0.8, 0.55], ("A", 11): [0.6, 0.6], ("T", 11): [0.5, 0.4]}
    for trial_id, config in proposals.items():
        finish(searcher, trial_id, scores[config["role"], config["init_seed"]])
    step = searcher.history[0]
    assert step["importance_a"] == pytest.approx([0.55, 0.55])
    assert step["importance_t"] == pytest.approx([0.65, 0.475])
    assert step["importance_a_per_seed"] == [[0.5, 0.5], [0.6, 0.6]]
    assert step["wins"] == [True, False] and step["grown"] == (2, 1)
    assert step["init_seeds"] == [10, 11] and step["runs_t"] == ["it1-T-2-2-r1", "it1-T-2-2-r2"]
    proposals, _ = propose_all(searcher)  # iteration 2: new seeds 12 and 13
    assert sorted((run_name(c), c["init_seed"]) for c in proposals.values()) == [
        ("it2-A-2-1-r1", 12),
        ("it2-A-2-1-r2", 13),
        ("it2-T-3-2-r1", 12),
        ("it2-T-3-2-r2", 13),
    ]


def test_score_seeds_confidence_resamples_seeds_and_images():
    """Seed 0 says T wins in every replicate and seed 1 says it loses in every one: the
    confidence is the share of replicates whose resampled seeds lean to T, far from the 1.0 that
    resampling images alone would claim for seed 0."""
    searcher = StageWiseSearcher((1,), delta=1, iterations=1, options=StageWiseOptions(score_seeds=2))
    proposals, _ = propose_all(searcher)
    replicates = 200
    for trial_id, config in proposals.items():
        gain = 0.3 if config["init_seed"] == 0 else -0.2
        value = 0.5 + (gain if config["role"] == "T" else 0.0)
        searcher.on_trial_complete(
            trial_id, {"importance": {"s1": value}, "importance_bootstrap": {"s1": [value] * replicates}}
        )
    # a replicate's mean is positive when it drew seed 0 at least once out of 2 (the mean of
    # +0.3 and -0.2 is +0.05): probability 3/4
    assert searcher.history[0]["confidence"][0] == pytest.approx(0.75, abs=0.08)


def test_a_resource_limit_ends_the_search_when_nothing_fits():
    macs = {(1, 1): 10.0, (2, 1): 30.0, (1, 2): 30.0}
    searcher = StageWiseSearcher(
        (1, 1),
        delta=1,
        iterations=3,
        options=StageWiseOptions(limits={"macs": 25.0}, cost_of=lambda depths: {"macs": macs[depths]}),
    )
    proposals, _ = propose_all(searcher)
    for trial_id, config in proposals.items():
        finish(searcher, trial_id, [0.1, 0.1] if config["role"] == "A" else [0.9, 0.9])
    assert propose_all(searcher) == ({}, Searcher.FINISHED)
    assert searcher.final_depths == (1, 1)
    assert searcher.converged["reason"] == "growing would exceed --max-macs"


def test_min_confidence_uses_the_trials_bootstrap_scores():
    searcher = StageWiseSearcher((1, 1), delta=1, iterations=1, options=StageWiseOptions(min_confidence=0.9))
    proposals, _ = propose_all(searcher)
    bootstrap = {
        "A": {"s1": [0.1, 0.2, 0.3, 0.4], "s2": [0.5, 0.5, 0.5, 0.5]},
        "T": {"s1": [0.2, 0.3, 0.4, 0.5], "s2": [0.6, 0.4, 0.6, 0.4]},
    }
    for trial_id, config in proposals.items():  # T beats A in both stages on the full sample
        role = config["role"]
        searcher.on_trial_complete(
            trial_id,
            {
                "importance": {"s1": 0.2 if role == "A" else 0.3, "s2": 0.5 if role == "A" else 0.51},
                "importance_bootstrap": bootstrap[role],
            },
        )
    step = searcher.history[0]
    assert step["confidence"] == [1.0, 0.5] and step["grown"] == (2, 1)


def test_the_scores_are_taken_from_the_last_result_before_the_trial_completes():
    """So that the next proposals wait when Tune stops the trial, and get its process; scores in
    a result not marked as the last (a trainable may report them every epoch) wait for the end."""
    searcher = StageWiseSearcher((6, 6, 6), delta=2, iterations=2)
    proposals, _ = propose_all(searcher)
    scores = {"A": [0.5, 0.5, 0.5], "T": [0.6, 0.4, 0.5]}

    def result(config, **extra):
        return {
            "val_accuracy": 0.9,
            "importance": {f"s{i + 1}": v for i, v in enumerate(scores[config["role"]])},
            **extra,
        }

    for trial_id, config in proposals.items():
        searcher.on_trial_result(trial_id, {"val_accuracy": 0.3})  # no scores yet
        searcher.on_trial_result(trial_id, result(config))  # scores, not marked as the last
    assert searcher.history == [] and propose_all(searcher)[0] == {}
    for trial_id, config in proposals.items():
        searcher.on_trial_result(trial_id, result(config, **{LAST_RESULT_KEY: True}))
    assert [step["grown"] for step in searcher.history] == [(8, 6, 6)]
    for trial_id in proposals:  # Tune's completion afterwards changes nothing
        searcher.on_trial_complete(trial_id, {"val_accuracy": 0.9})
    assert searcher.error is None
    next_proposals, _ = propose_all(searcher)
    assert sorted(tuple(c["depths"]) for c in next_proposals.values()) == [(8, 6, 6), (10, 8, 8)]


def test_a_failed_trial_ends_the_search_with_its_name():
    searcher = StageWiseSearcher((6, 6, 6), delta=2, iterations=3)
    proposals, _ = propose_all(searcher)
    failed = next(t for t, c in proposals.items() if c["role"] == "T")
    searcher.on_trial_complete(failed, None, error=True)
    assert searcher.suggest("next") == Searcher.FINISHED
    assert failed in searcher.error and "it1-T-8-8-8" in searcher.error


def test_a_result_without_importance_is_an_error_not_a_hang():
    searcher = StageWiseSearcher((1, 1, 1), delta=1, iterations=1)
    proposals, _ = propose_all(searcher)
    trial_id = next(iter(proposals))
    searcher.on_trial_complete(trial_id, {"val_accuracy": 0.5})
    assert "no per-stage importance" in searcher.error
    assert searcher.suggest("x") == Searcher.FINISHED


def test_save_and_restore_continue_mid_iteration(tmp_path):
    searcher = StageWiseSearcher((6, 6, 6), delta=2, iterations=2)
    proposals, _ = propose_all(searcher)
    (first_id, first), (second_id, second) = proposals.items()
    finish(searcher, first_id, [0.5] * 3)
    searcher.save(str(tmp_path / "state.pkl"))
    restored = StageWiseSearcher((1, 1, 1), delta=1, iterations=1)
    restored.restore(str(tmp_path / "state.pkl"))
    finish(restored, second_id, [0.6, 0.6, 0.4] if second["role"] == "T" else [0.4, 0.4, 0.6])
    assert restored.history[0]["grown"] == (8, 8, 6)
    proposals, _ = propose_all(restored)
    assert sorted(tuple(c["depths"]) for c in proposals.values()) == [(8, 8, 6), (10, 10, 8)]


def test_flattened_importance_is_understood():
    searcher = StageWiseSearcher((1, 1), delta=1, iterations=1)
    proposals, _ = propose_all(searcher)
    for trial_id, config in proposals.items():
        searcher.on_trial_complete(
            trial_id, {"importance/s1": 0.2, "importance/s2": 0.9 if config["role"] == "T" else 0.1}
        )
    assert searcher.history[0]["grown"] == (1, 2)


@pytest.mark.parametrize("args", [((0, 1), 1, 1), ((1, 1), 0, 1), ((1, 1), 1, 0), ((), 1, 1)])
def test_bad_arguments_are_named(args):
    with pytest.raises(ValueError):
        StageWiseSearcher(*args)


def test_references_are_trained_after_the_final_candidate():
    searcher = StageWiseSearcher(
        (1, 1), delta=1, iterations=1, options=StageWiseOptions(references=[(3, 3), (2, 2)])
    )
    assert searcher.max_trials == 5
    proposals, _ = propose_all(searcher)
    for trial_id, config in proposals.items():
        finish(searcher, trial_id, [0.5, 0.5] if config["role"] == "A" else [0.6, 0.4])
    proposals, _ = propose_all(searcher)
    assert [(c["role"], tuple(c["depths"])) for c in proposals.values()] == [("final", (2, 1))]
    finish(searcher, next(iter(proposals)), [0.5, 0.5])
    proposals, _ = propose_all(searcher)  # (2, 2) was trained as T: only (3, 3) is new
    assert [(c["role"], tuple(c["depths"])) for c in proposals.values()] == [("reference", (3, 3))]
    assert run_name(next(iter(proposals.values()))) == "reference-3-3"
    finish(searcher, next(iter(proposals)), [0.5, 0.5])
    assert searcher.suggest("end") == Searcher.FINISHED and searcher.final_depths == (2, 1)


def test_final_epochs_continue_every_candidate_once_after_the_references():
    searcher = StageWiseSearcher(
        (1, 1), delta=1, iterations=1, options=StageWiseOptions(references=[(3, 3)], final_epochs=5)
    )
    assert searcher.max_trials == 4 + 3
    proposals, _ = propose_all(searcher)
    for trial_id, config in proposals.items():  # stage 1 grows: final 2-1 is new
        searcher.on_trial_complete(
            trial_id,
            {
                "importance": {"s1": 0.1 if config["role"] == "A" else 0.9, "s2": 0.5},
                "checkpoint_dir_name": "checkpoint_000003",
            },
        )
    for _ in range(2):  # the final, then the reference
        ((trial_id, config),) = propose_all(searcher)[0].items()
        searcher.on_trial_complete(
            trial_id, {"importance": {"s1": 0.5, "s2": 0.5}, "checkpoint_dir_name": "checkpoint_000003"}
        )
    proposals, rest = propose_all(searcher)
    assert rest is None  # the continuations run, then the search ends
    continued = sorted(
        (run_name(c), c["continue_from"].split("_")[0], c["extra_epochs"]) for c in proposals.values()
    )
    assert continued == [
        ("final-2-1", "final-2-1", 5),
        ("it1-A-1-1", "it1-A-1-1", 5),
        ("reference-3-3", "reference-3-3", 5),
    ]
    assert all(
        c["continue_from"].endswith(f"_{c['continues']}/checkpoint_000003") for c in proposals.values()
    )
    for trial_id in proposals:
        searcher.on_trial_complete(trial_id, {"val_accuracy": 0.9})  # no importance: fine
    assert searcher.suggest("end") == Searcher.FINISHED and searcher.error is None


def test_a_decision_is_logged_when_tune_next_asks_for_a_proposal(caplog):
    """Tune gives the searcher a trial's last result before its callbacks print the trial's
    line: the decision taken on it waits for Tune's next ``suggest``, so the console shows the
    network, then the decision; the next proposals are ready at once all the same."""
    caplog.set_level("INFO", logger="nas_service")
    searcher = StageWiseSearcher((1, 1), delta=1, iterations=1)
    proposals, _ = propose_all(searcher)
    for trial_id, config in proposals.items():
        searcher.on_trial_result(
            trial_id,
            {
                "val_accuracy": 0.9,
                LAST_RESULT_KEY: True,
                "importance": {"s1": 0.5, "s2": 0.5 if config["role"] == "A" else 0.6},
            },
        )
    assert searcher.history[0]["grown"] == (1, 2) and caplog.messages == []
    (final,) = propose_all(searcher)[0].values()
    assert tuple(final["depths"]) == (1, 2)
    assert caplog.messages == ["iteration 1: A 1-1 vs T 2-2 -> 1-2 (grew)"]
