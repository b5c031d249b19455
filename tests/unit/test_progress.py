"""The console's live progress: the remaining-time estimate against hand-computed numbers, the
throttled status lines (driven with a fake clock and fake trials, no Ray search), the MLflow UI
and Ray dashboard hints, and the two flags."""

from __future__ import annotations

import logging
import pickle
from dataclasses import dataclass, field

import pytest

from nas_service.cli.arguments import parse_config
from nas_service.cli.run import main as run_main
from nas_service.core.errors import ConfigError
from nas_service.core.eta import (
    RunningTrial,
    Work,
    approximate_duration,
    pooled_epoch_seconds,
    remaining_text,
    seconds_left,
    seconds_left_by_phase,
    split_by_phase,
    within_budget,
)
from nas_service.tune.fixed_searcher import FixedSearcher
from nas_service.tune.progress import (
    ProgressPrinter,
    SearchPlan,
    dashboard_hint,
    epoch_span,
    mlflow_ui_hint,
    search_plan,
)
from nas_service.tune.searcher import StageWiseSearcher
from nas_service.tune.stagewise_options import StageWiseOptions
from trainables.trial_config import (
    CONTINUE_FROM_KEY,
    EPOCHS_KEY,
    EXTRA_EPOCHS_KEY,
    LAST_RESULT_KEY,
    trial_config,
)


def test_running_trials_take_their_own_speed_and_trials_to_come_the_pooled_one():
    # 3 epochs of 10 s and 1 of 20 s left, two trials of 4 epochs to come at 12.5 s, two at a time
    running = [RunningTrial(3, 10.0), RunningTrial(1, 20.0)]
    assert seconds_left(running, [4, 4], 12.5, concurrency=2) == (30 + 20 + 8 * 12.5) / 2


def test_no_schedule_ends_before_the_longest_running_trial():
    # 60 s of one trial left, 2 s of work to come: shared by two slots it would be 31 s
    assert seconds_left([RunningTrial(10, 6.0)], [1], 2.0, concurrency=2) == 60.0


def test_the_budget_cuts_the_epochs_left_in_the_order_they_would_be_spent():
    work = Work(running=[2, 3], to_come=[4, 4], later=[[4]])
    # 7.5 epochs of budget (the crossing epoch still runs: 8): the running 2 + 3, then 3 of the
    # next trial; the second trial to come and the later phase never start
    cut, networks = within_budget(work, 7.5, stops_early=False)
    assert cut == Work([2, 3], [3], []) and networks == 1
    # a scheduler that may stop any trial after one epoch: up to one network per epoch left
    # after the running ones (3), as far as the plan goes (3 trials)
    assert within_budget(work, 7.5, stops_early=True) == (Work([2, 3], [3], []), 3)
    assert within_budget(work, 100, stops_early=True) == (work, 3)
    assert within_budget(work, -5, stops_early=True) == (Work([0, 0], [], []), 0)


def test_a_budgeted_status_line_counts_what_the_budget_still_pays_for(caplog):
    """ASHA's plan of 1000 trials of 3 epochs, 2 at a time, with 12 epochs of budget (100 images
    each): the line counts the networks and time the budget leaves, not the plan's."""
    caplog.set_level(logging.INFO, logger="nas_service")
    clock = Clock()
    plan = SearchPlan(
        (3,) * 1000, 3, 2, upper_bound=True, budget_images=1200, images_per_epoch=100, scheduler_stops=True
    )
    printer = ProgressPrinter(plan, 0.0, clock)
    first = FakeTrial(
        {"stage_depths": {"m1": 1, "m2": 1, "m3": 1}}, "a", "TERMINATED", {"epoch": 1, "images_seen": 100}
    )  # stopped by ASHA after one epoch
    second = FakeTrial({"stage_depths": {"m1": 2, "m2": 1, "m3": 1}}, "b")
    third = FakeTrial({"stage_depths": {"m1": 3, "m2": 1, "m3": 1}}, "c")
    trials = [first, second, third]
    report(
        printer, trials, second, 0.0, clock, epoch=1, time_this_iter_s=10.0, images_seen=100, val_accuracy=0.5
    )
    report(
        printer, trials, third, 0.0, clock, epoch=1, time_this_iter_s=10.0, images_seen=100, val_accuracy=0.5
    )
    # 300 images spent: 9 epochs left; the running two take 2 + 2, so 5 networks of one epoch
    # may start; time: every epoch at 10 s, (2 + 2 + 5 x 3 cut to 5) x 10 / 2 slots = 45 s
    assert lines(caplog)[-1] == (
        "sample-3-1-1: epoch 1/3, val accuracy 0.5000; search: at most 5 more networks, about 45 s left"
    )


def test_a_lone_trial_to_come_does_not_share_its_work():
    assert seconds_left([], [4], 5.0, concurrency=2) == 20.0


def test_phases_run_one_after_the_other_each_on_the_slots_it_fills():
    # A and T of iteration 1 running (30 s and 60 s left); iteration 2's A and T, then the found
    # network alone, 4 epochs of 15 s each: 60 + (4 + 4) x 15 / 2 + 4 x 15 = 180 s, where one
    # pool of trials would say (30 + 60 + 12 x 15) / 2 = 135 s
    running = [RunningTrial(3, 10.0), RunningTrial(3, 20.0)]
    assert seconds_left_by_phase(running, [], [[4, 4], [4]], 15.0, concurrency=2) == 180.0
    assert seconds_left(running, [4, 4, 4], 15.0, concurrency=2) == 135.0


def test_trials_to_come_are_split_by_the_phase_of_the_last_created_one():
    epochs = (4, 4, 4, 4, 4, 3, 3)  # 2 iterations, the found network, 2 continuations
    phases = (2, 2, 1, 2)
    assert split_by_phase(epochs, phases, 0) == ([4, 4], [[4, 4], [4], [3, 3]])
    assert split_by_phase(epochs, phases, 1) == ([4], [[4, 4], [4], [3, 3]])  # T not created
    assert split_by_phase(epochs, phases, 2) == ([], [[4, 4], [4], [3, 3]])
    assert split_by_phase(epochs, phases, 5) == ([], [[3, 3]])
    assert split_by_phase(epochs, phases, 7) == ([], [])
    assert split_by_phase(epochs, (7,), 3) == ([4, 4, 3, 3], [])  # one pool


def test_the_pool_weighs_every_measured_epoch_the_same():
    # per epoch (2 + 4 + 6 + 8) / 4, not the mean of the trials' means (3 + 7) / 2; the first
    # epochs (with the process's start) left out once later ones are measured
    assert pooled_epoch_seconds([[9.0, 2.0, 4.0], [7.0, 6.0, 8.0], [5.0]]) == 5.0
    assert pooled_epoch_seconds([[5.0], [7.0]]) == 6.0  # only first epochs yet: they count
    assert pooled_epoch_seconds([]) is None


@pytest.mark.parametrize("seconds,text", [(40, "40 s"), (240, "4 min"), (9000, "2.5 h")])
def test_durations_are_as_precise_as_an_estimate(seconds, text):
    assert approximate_duration(seconds) == text


def test_the_search_line_says_at_most_when_the_count_is_a_maximum():
    assert remaining_text(12, True, 240) == "search: at most 12 more networks, about 4 min left"
    assert remaining_text(1, False, 40) == "search: 1 more network, about 40 s left"
    assert remaining_text(0, True, None) == "search: no more networks to start"


def test_the_plan_of_a_stagewise_search_ends_with_its_continuations():
    searcher = StageWiseSearcher((1, 1, 1), 1, 2, options=StageWiseOptions(final_epochs=3))
    # 2 iterations x (A, T) + the found network, then a continuation of the 2 A's and the found one
    assert searcher.max_trials == 8
    plan = search_plan(searcher, searcher.max_trials, 4, 2, stops_early=False)
    assert plan == SearchPlan((4, 4, 4, 4, 4, 3, 3, 3), 4, 2, upper_bound=True, phase_sizes=(2, 2, 1, 3))
    # with references and no continuations: the references are one phase after the found network
    searcher = StageWiseSearcher((1, 1, 1), 1, 2, options=StageWiseOptions(references=[(2, 2, 2), (3, 3, 3)]))
    assert search_plan(searcher, searcher.max_trials, 4, 2, False).phase_sizes == (2, 2, 1, 2)


def test_the_plan_of_fixed_trials_is_exact_unless_something_stops_them_early():
    searcher = FixedSearcher(
        [trial_config((2, 2), "single", **{EPOCHS_KEY: 2}), trial_config((2, 2), "reference")]
    )
    assert search_plan(searcher, 2, 5, 2, stops_early=False) == SearchPlan((2, 5), 5, 2, False)
    assert search_plan(searcher, 2, 5, 2, stops_early=True).upper_bound
    assert search_plan(None, 3, 4, 2, stops_early=False).trial_epochs == (4, 4, 4)


def test_a_continuation_trains_only_its_extra_epochs():
    continuation = {**trial_config((2, 2), "A", 1), EXTRA_EPOCHS_KEY: 6, CONTINUE_FROM_KEY: "x/c"}
    assert epoch_span(continuation, 4) == (4, 10)
    assert epoch_span(trial_config((2, 2), "A", 1), 4) == (0, 4)


@dataclass
class FakeTrial:
    """What the printer reads of a Tune trial."""

    config: dict
    trial_id: str
    status: str = "RUNNING"
    last_result: dict = field(default_factory=dict)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def report(
    printer: ProgressPrinter, trials: list[FakeTrial], trial: FakeTrial, at: float, clock: Clock, **result
) -> None:
    """One epoch's result at clock time ``at``, as Tune hands it over (``last_result`` after)."""
    clock.now = at
    printer.on_trial_result(0, trials, trial, result)
    trial.last_result = result


@pytest.fixture
def search(caplog):
    """A stage-wise-like search of 3 networks of 4 epochs, its A and T created and running."""
    caplog.set_level(logging.INFO, logger="nas_service")
    clock = Clock()
    printer = ProgressPrinter(SearchPlan((4, 4, 4), 4, 2, upper_bound=True), 30.0, clock)
    a = FakeTrial(trial_config((1, 1, 1), "A", 1), "a")
    t = FakeTrial(trial_config((2, 2, 2), "T", 1), "t")
    return printer, clock, a, t, [a, t]


def lines(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records]


def test_status_lines_estimate_from_the_measured_epochs(search, caplog):
    printer, clock, a, t, trials = search
    report(printer, trials, a, 0.0, clock, epoch=1, time_this_iter_s=10.0, val_accuracy=0.5)
    # A: 3 epochs x 10 s; T (no epoch yet): 4 x the pool's 10 s; 1 to come: 4 x 10 s;
    # (30 + 40 + 40) / 2 slots = 55 s
    assert lines(caplog) == [
        "it1-A-1-1-1: epoch 1/4, val accuracy 0.5000; search: at most 1 more network, about 55 s left"
    ]
    report(printer, trials, t, 5.0, clock, epoch=1, time_this_iter_s=20.0, train_loss=0.25)
    # A: 3 x 10 s; T: 3 x 20 s; to come: 4 x (10 + 20) / 2 s; (30 + 60 + 60) / 2 = 75 s
    assert lines(caplog)[1] == (
        "it1-T-2-2-2: epoch 1/4, train loss 0.2500; search: at most 1 more network, about 75 s left"
    )
    report(printer, trials, a, 40.0, clock, epoch=2, time_this_iter_s=6.0, val_accuracy=0.6)
    # first epochs (the process's start) leave the speeds once a later one is measured: A 2 x 6 s,
    # T 3 x 20 s, to come 4 x 6 s: max((12 + 60 + 24) / 2, 60) = 60 s
    assert lines(caplog)[2] == (
        "it1-A-1-1-1: epoch 2/4, val accuracy 0.6000; search: at most 1 more network, about 60 s left"
    )


def test_a_stagewise_plan_counts_the_found_network_after_a_and_t(search, caplog):
    _, clock, a, _, trials = search
    printer = ProgressPrinter(SearchPlan((4, 4, 4), 4, 2, upper_bound=True, phase_sizes=(2, 1)), 30.0, clock)
    report(printer, trials, a, 0.0, clock, epoch=1, time_this_iter_s=10.0, val_accuracy=0.5)
    # A: 3 x 10 s, T: 4 x the pool's 10 s: max((30 + 40) / 2, 40) = 40 s; then the found network
    # alone, 4 x 10 s: 80 s (one pool of the three: 55 s)
    assert lines(caplog) == [
        "it1-A-1-1-1: epoch 1/4, val accuracy 0.5000; search: at most 1 more network, about 80 s left"
    ]


def test_each_trial_prints_its_first_epoch_then_one_line_per_period(search, caplog):
    printer, clock, a, t, trials = search
    report(printer, trials, a, 0.0, clock, epoch=1, time_this_iter_s=10.0, val_accuracy=0.5)
    report(printer, trials, a, 10.0, clock, epoch=2, time_this_iter_s=10.0, val_accuracy=0.6)
    report(printer, trials, t, 11.0, clock, epoch=1, time_this_iter_s=10.0, val_accuracy=0.4)
    report(printer, trials, a, 31.0, clock, epoch=3, time_this_iter_s=10.0, val_accuracy=0.7)
    report(printer, trials, t, 40.0, clock, epoch=2, time_this_iter_s=10.0, val_accuracy=0.5)
    # the last epoch: the finished line follows instead
    report(printer, trials, a, 70.0, clock, epoch=4, time_this_iter_s=10.0, val_accuracy=0.8)
    assert [line.split(";")[0] for line in lines(caplog)] == [
        "it1-A-1-1-1: epoch 1/4, val accuracy 0.5000",
        "it1-T-2-2-2: epoch 1/4, val accuracy 0.4000",
        "it1-A-1-1-1: epoch 3/4, val accuracy 0.7000",
    ]


def test_progress_every_0_prints_every_epoch_but_the_last(search, caplog):
    _, clock, a, _, trials = search
    printer = ProgressPrinter(SearchPlan((4, 4, 4), 4, 2, upper_bound=True), 0.0, clock)
    for epoch in range(1, 5):
        report(printer, trials, a, 0.0, clock, epoch=epoch, time_this_iter_s=1.0, val_accuracy=0.5)
    assert [line.split(",")[0] for line in lines(caplog)] == [
        "it1-A-1-1-1: epoch 1/4",
        "it1-A-1-1-1: epoch 2/4",
        "it1-A-1-1-1: epoch 3/4",
    ]


def test_finished_trials_leave_the_estimate_and_pending_ones_count_to_come(search, caplog):
    printer, clock, a, t, trials = search
    a.status = "TERMINATED"
    t.status = "PENDING"  # e.g. waiting for a free slot after a failure, 1 epoch trained
    t.last_result = {"epoch": 1}
    final = FakeTrial(trial_config((2, 1, 1), "final"), "f")
    report(printer, [*trials, final], final, 0.0, clock, epoch=1, time_this_iter_s=2.0, val_accuracy=0.5)
    # final: 3 x 2 s running; T: 3 epochs x the pool's 2 s to come; (6 + 6) / 2 slots = 6 s
    assert lines(caplog) == [
        "final-2-1-1: epoch 1/4, val accuracy 0.5000; search: at most 1 more network, about 6 s left"
    ]


def test_tune_can_pickle_the_printer_and_an_older_one_prints_no_status_lines(search, caplog):
    printer, clock, a, t, trials = search
    assert pickle.loads(pickle.dumps(ProgressPrinter(printer.plan, 30.0))).every == 30.0
    older = ProgressPrinter.__new__(ProgressPrinter)  # pickled before it had fields
    report(older, trials, a, 0.0, clock, epoch=1, time_this_iter_s=1.0, val_accuracy=0.5)
    assert lines(caplog) == []


def test_a_trial_is_finished_at_its_last_result_and_one_stopped_early_when_it_ends(search, caplog):
    """The trainable marks its last result: the finished line comes with it, before the
    search's decision on it (and before Tune stops the trial), and once; a trial that never
    reports one (stopped by ASHA or a budget) gets it when Tune ends it."""
    printer, clock, a, t, trials = search
    last = {
        "epoch": 4,
        "time_this_iter_s": 1.0,
        "val_accuracy": 0.8,
        "time_total_s": 12.4,
        "importance": {"s1": 0.5, "s2": 0.25, "s3": 0.125},
        LAST_RESULT_KEY: True,
    }
    report(printer, trials, a, 0.0, clock, **last)
    assert lines(caplog) == [
        "it1-A-1-1-1: val accuracy 0.8000 after 4 epochs, importance [0.5000, 0.2500, 0.1250], 12 s"
    ]
    report(printer, trials, a, 1.0, clock, **last)  # Tune's copy of it when the function returns
    printer.on_trial_complete(0, trials, a)
    assert len(lines(caplog)) == 1
    t.last_result = {"epoch": 2, "val_accuracy": 0.4, "time_total_s": 7.0}
    printer.on_trial_complete(0, trials, t)
    assert lines(caplog)[1] == "it1-T-2-2-2: val accuracy 0.4000 after 2 epochs, 7 s"
    older = ProgressPrinter.__new__(ProgressPrinter)  # pickled before it had fields
    report(older, trials, a, 2.0, clock, **last)
    older.on_trial_complete(0, trials, a)
    assert lines(caplog)[2:] == lines(caplog)[:1]


def test_the_mlflow_ui_hint_of_a_sqlite_store(tmp_path, monkeypatch):
    assert mlflow_ui_hint("sqlite:////data/nas/mlflow.db", "3", "abc") == (
        "MLflow UI: mlflow ui --backend-store-uri sqlite:////data/nas/mlflow.db, then "
        "http://127.0.0.1:5000/#/experiments/3"
    )
    monkeypatch.chdir(tmp_path)  # a relative path works from any folder once made absolute
    assert f"--backend-store-uri sqlite:///{tmp_path}/m.db," in mlflow_ui_hint("sqlite:///m.db", "3", "abc")
    assert "--backend-store-uri 'sqlite:////my runs/m.db'," in mlflow_ui_hint(
        "sqlite:////my runs/m.db", "3", "abc"
    )


def test_the_mlflow_ui_hint_of_a_server_is_the_parent_runs_page():
    assert mlflow_ui_hint("http://mlflow.lab:5000/", "3", "abc") == (
        "MLflow UI: http://mlflow.lab:5000/#/experiments/3/runs/abc"
    )
    assert mlflow_ui_hint("databricks", "3", "abc") is None


def test_the_mlflow_ui_hint_of_a_file_store(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert mlflow_ui_hint("./mlruns", "0", "abc") == (
        f"MLflow UI: mlflow ui --backend-store-uri {tmp_path}/mlruns, then "
        "http://127.0.0.1:5000/#/experiments/0"
    )
    assert mlflow_ui_hint("file:///data/mlruns", "0", "abc").startswith(
        "MLflow UI: mlflow ui --backend-store-uri file:///data/mlruns, then"
    )


def test_the_dashboard_line_only_when_there_is_a_dashboard():
    assert dashboard_hint(None, {}) is None and dashboard_hint("", {}) is None
    assert dashboard_hint("127.0.0.1:8265", {}) == "Ray dashboard: http://127.0.0.1:8265"
    assert dashboard_hint("https://ray.lab", {}) == "Ray dashboard: https://ray.lab"
    assert dashboard_hint("127.0.0.1:8265", {"RAY_AUTH_MODE": "token"}) == (
        "Ray dashboard: http://127.0.0.1:8265 (it asks for the token that `ray get-auth-token` prints)"
    )


def test_progress_flags(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    config = parse_config(["--progress-every", "0", "--dashboard"])
    assert (config.progress_every, config.dashboard) == (0.0, True)
    assert parse_config([]).progress_every == 30.0 and not parse_config([]).dashboard
    # they show the search, they do not define it: no MLflow params
    assert not {"progress_every", "dashboard"} & set(config.to_params())
    with pytest.raises(ConfigError, match=r"^--progress-every -1\.0: must be 0"):
        parse_config(["--progress-every", "-1"])
    assert run_main(["--progress-every", "-1"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("python -m nas_service.run: error: --progress-every -1.0: must be 0")
    assert error.count("\n") == 1
