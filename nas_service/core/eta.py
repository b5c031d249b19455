"""How long a search still runs: the epochs its trials have left, at the speed measured so far.

Plain arithmetic on what the trials reported (the console's status lines,
``nas_service.tune.progress``, feed it), so that the estimate can be checked by hand.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class RunningTrial:
    """A trial that has trained some of its epochs: how many it has left and its own measured
    mean seconds per epoch."""

    epochs_left: int
    epoch_seconds: float

    @property
    def seconds_left(self) -> float:
        return self.epochs_left * self.epoch_seconds


def pooled_epoch_seconds(measured: Iterable[Sequence[float]]) -> float | None:
    """The mean seconds of the epochs measured, over all trials (``measured``: each trial's epoch
    seconds in order); ``None`` before the first.

    Pooled per epoch, not per trial: a trial not started yet has no speed of its own, and each
    measured epoch is one sample of the work still to come, so a trial that trained longer counts
    in proportion to the epochs it measured.  A trial's first epoch also holds its process's
    start (torch's compiler and codecarbon's first start: seconds), which the networks to come
    mostly do not pay, as they train in the processes of those before them: first epochs count
    only until some trial has measured a later one."""
    trials = [list(trial) for trial in measured]
    seconds = [second for trial in trials for second in trial[1:]]
    seconds = seconds or [second for trial in trials for second in trial]
    return sum(seconds) / len(seconds) if seconds else None


def seconds_left(
    running: Sequence[RunningTrial], epochs_to_come: Sequence[int], epoch_seconds: float, concurrency: int
) -> float:
    """Seconds until the last trial ends.

    Each running trial's epochs take its own mean time: the same network on the same device, so a
    better guess than the pool (a deeper T is slower than its A).  The epochs of the trials still
    to come (``epochs_to_come``: one entry per trial) take ``epoch_seconds``, the pooled mean.
    The work is shared by ``concurrency`` trials at a time (fewer when fewer are left), and no
    schedule ends before the running trial with the most time left.

    The time between two trials (an actor starting, the searcher deciding) is in no epoch, and the
    stage-wise search grows its networks: the estimate leans low for the trials to come."""
    running_seconds = [trial.seconds_left for trial in running]
    work = sum(running_seconds) + sum(epochs_to_come) * epoch_seconds
    slots = max(1, min(concurrency, len(running) + len(epochs_to_come)))
    return max(work / slots, max(running_seconds, default=0.0))


def seconds_left_by_phase(
    running: Sequence[RunningTrial],
    epochs_to_come: Sequence[int],
    later_phases: Sequence[Sequence[int]],
    epoch_seconds: float,
    concurrency: int,
) -> float:
    """Seconds until the last trial ends when the search runs its trials in phases, each starting
    when the one before has ended (the stage-wise search: an iteration's A and T, the next
    iteration's, the found network alone, then its references): the current phase
    (``running`` and ``epochs_to_come``) as ``seconds_left``, then each later phase's trials
    (their epochs) on the slots that phase can fill.  A lone network thus counts whole, where one
    pool of trials would halve it."""
    return seconds_left(running, epochs_to_come, epoch_seconds, concurrency) + sum(
        seconds_left([], phase, epoch_seconds, concurrency) for phase in later_phases
    )


def split_by_phase(
    trial_epochs: Sequence[int], phase_sizes: Sequence[int], created: int
) -> tuple[list[int], list[list[int]]]:
    """The epochs of the planned trials not created yet (``trial_epochs[created:]``): those in
    the phase of the last created trial, and one list per later phase (``phase_sizes``: the
    trials of each phase, in order)."""
    phase_of = [phase for phase, size in enumerate(phase_sizes) for _ in range(size)]
    phase_of += [len(phase_sizes)] * (len(trial_epochs) - len(phase_of))  # beyond the plan: one more
    current = phase_of[created - 1] if 0 < created <= len(phase_of) else 0
    now: list[int] = []
    later: dict[int, list[int]] = {}  # phases only grow with the index: none is before ``current``
    for index in range(created, len(trial_epochs)):
        phase = phase_of[index]
        (now if phase == current else later.setdefault(phase, [])).append(trial_epochs[index])
    return now, list(later.values())


@dataclass(frozen=True)
class Work:
    """The epochs a search has left: each running trial's, then those of the trials still to come
    in the current phase and in each later one."""

    running: list[int]
    to_come: list[int]
    later: list[list[int]]

    def networks(self) -> int:
        return len(self.to_come) + sum(map(len, self.later))


def within_budget(work: Work, epochs_left: float, stops_early: bool) -> tuple[Work, int]:
    """(``work`` cut to the ``epochs_left`` epochs of training the budget still pays for, the
    networks that may still start).  Epochs go in the order they would be spent: the running
    trials first, then the trials to come, phase by phase; the epoch that crosses the budget
    still runs (the stopper checks after it), and a trial to come that gets no epoch never
    starts.  When a scheduler may stop any trial after one epoch (``stops_early``: ASHA), up to
    one network per epoch left may start, as far as the plan goes; the time stays the budget's."""
    budget = max(0, math.ceil(epochs_left - 1e-9))

    def take(epochs: int) -> int:
        nonlocal budget
        used = min(epochs, budget)
        budget -= used
        return used

    running = [take(epochs) for epochs in work.running]
    room = budget
    phases = [[used for used in map(take, phase) if used] for phase in (work.to_come, *work.later)]
    cut = Work(running, phases[0], [phase for phase in phases[1:] if phase])
    return cut, min(room, work.networks()) if stops_early else cut.networks()


def approximate_duration(seconds: float) -> str:
    """``40 s``, ``4 min``, ``2.5 h``: as precise as an estimate deserves."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def remaining_text(networks_to_come: int, upper_bound: bool, seconds: float | None) -> str:
    """``search: at most 12 more networks, about 4 min left``.  ``upper_bound``: the search may end
    with fewer networks (the stage-wise search converging, a scheduler or a budget stopping it):
    the count is a maximum, and so, roughly, is the time."""
    if networks_to_come:
        plural = "s" if networks_to_come != 1 else ""
        count = f"{'at most ' if upper_bound else ''}{networks_to_come} more network{plural}"
    else:
        count = "no more networks to start"
    time = f", about {approximate_duration(seconds)} left" if seconds is not None else ""
    return f"search: {count}{time}"
