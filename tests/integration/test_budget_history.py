"""A resumed search's budget stopper counts what its trials spent before the crash, read back from
the trials' last measures in MLflow."""

from nas_service.core.budget import Budget
from nas_service.tune.stopper import BudgetStopper


def test_a_resumed_stopper_counts_what_was_spent_before_from_mlflow(tracking_uri):
    """Tune gives a resumed search the stopper pickled at its start (empty); the trials' last
    measures in MLflow make it count the 500 images trained before the crash."""
    import pickle
    from functools import partial

    from mlflow.tracking import MlflowClient

    from nas_service.tracking.queries import budget_was_spent, last_trial_measures
    from nas_service.tracking.records import mark_budget_spent, start_parent_run
    from nas_service.tracking.tags import PARENT_RUN_ID_TAG, TRIAL_ID_TAG

    client = MlflowClient(tracking_uri)
    parent = start_parent_run(client, "budget", "search", "stagewise", {})
    experiment = client.get_run(parent).info.experiment_id
    for trial, images in (("t1", 300), ("t2", 200)):
        child = client.create_run(
            experiment, tags={PARENT_RUN_ID_TAG: parent, TRIAL_ID_TAG: trial}
        ).info.run_id
        for epoch in range(1, images // 100 + 1):
            client.log_metric(child, "images_seen", 100 * epoch, step=epoch)
    started = BudgetStopper(
        Budget(images=800),
        epoch_images=100,
        epochs=3,
        concurrency=2,
        history=partial(last_trial_measures, tracking_uri, parent),
        on_exhausted=partial(mark_budget_spent, tracking_uri, parent),
    )
    resumed = pickle.loads(pickle.dumps(started))  # what Tune hands back after a crash
    resumed("t2", {"epoch": 3, "images_seen": 300})  # t2 resumed and finished its last epoch
    assert resumed.spent()["images"] == 600
    resumed("t3", {"epoch": 1, "images_seen": 100})
    assert not budget_was_spent(client, parent)
    assert resumed.stop_all()  # 700 + two more epochs > 800; without the history: 400, no stop
    # the driver's own stopper object saw nothing; the parent run's tag says the budget ended it
    assert not started.exhausted and budget_was_spent(client, parent)
    forgetful = BudgetStopper(Budget(images=800), epoch_images=100, epochs=3, concurrency=2)
    forgetful("t2", {"epoch": 3, "images_seen": 300})
    forgetful("t3", {"epoch": 1, "images_seen": 100})
    assert not forgetful.stop_all()  # the overspend the history prevents
