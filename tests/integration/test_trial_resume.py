"""A trial whose worker is SIGKILLed mid-training is retried and resumes from its checkpoint."""

import os
import signal

from ray import tune

from nas_service.cli.arguments import parse_config
from nas_service.tune.experiment import start_experiment
from nas_service.tune.searcher import StageWiseSearcher
from scoring.actor import create_scoring_pool


class KillWorkerOnce(tune.Callback):
    """SIGKILLs the process of the first trial that reports epoch 2."""

    def __init__(self) -> None:
        self.killed_trial: str | None = None

    def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
        if self.killed_trial is None and result.get("epoch") == 2:
            self.killed_trial = trial.trial_id
            os.kill(result["pid"], signal.SIGKILL)


def run_search(name: str, callbacks=()):
    config = parse_config(
        ["--iterations", "1", "--m0", "1", "--epochs", "4", "--name", name, "--scoring-samples", "200"]
    )
    experiment = start_experiment(config, "stagewise")
    searcher = StageWiseSearcher((1, 1, 1), delta=1, iterations=1)
    tuner = experiment.make_tuner(
        create_scoring_pool(1), searcher.max_trials, search_alg=searcher, callbacks=callbacks
    )
    return searcher, tuner.fit()


def by_depths(results) -> dict[tuple, dict]:
    return {tuple(r.config["depths"]): r for r in results}


def test_killed_worker_resumes_at_the_next_epoch(ray_session, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    killer = KillWorkerOnce()
    searcher, results = run_search("kill", (killer,))

    assert killer.killed_trial is not None
    assert searcher.error is None and searcher.final_depths is not None
    for result in results:
        epochs = result.metrics_dataframe["epoch"].tolist()
        assert epochs[-1] == 4 and result.metrics["importance"]["s1"] > 0
        if str(result.path).endswith(killer.killed_trial):
            # after the kill the trial continues after its last checkpoint, never from epoch 1
            assert epochs.count(1) == 1 and sorted(set(epochs)) == [1, 2, 3, 4], epochs

    # the same search undisturbed: same architecture, and every candidate bit for bit the same
    undisturbed, reference = run_search("undisturbed")
    assert undisturbed.final_depths == searcher.final_depths
    for depths, result in by_depths(reference).items():
        resumed = by_depths(results)[depths].metrics
        assert resumed["val_accuracy"] == result.metrics["val_accuracy"], depths
        assert resumed["importance"] == result.metrics["importance"], depths
