from nas_service.core.budget import Budget, spent_by
from nas_service.tune.stopper import BudgetStopper


def test_spent_sums_the_last_results():
    results = [{"images_seen": 300, "gpu_seconds": 1800, "emissions_kg": 0.1},
               {"images_seen": 100, "gpu_seconds": 1800, "emissions_kg": 0.2}]
    assert spent_by(results) == {"images": 400, "gpu_hours": 1.0, "emissions_kg": 0.30000000000000004}


def test_stops_before_the_next_round_would_overshoot():
    # 100 images per epoch, 2 trials at a time: stop once spent + 200 > 900
    stopper = BudgetStopper(Budget(images=900), epoch_images=100, epochs=5, concurrency=2)
    for epoch in (1, 2, 3, 4):
        stopper("a", {"epoch": epoch, "images_seen": 100 * epoch})
        stopper("b", {"epoch": epoch, "images_seen": 100 * epoch})
        assert stopper.stop_all() == (200 * epoch + 200 > 900)
    assert stopper.exhausted and stopper.spent()["images"] <= 900


def test_a_finished_trial_completes_while_the_others_epochs_fit():
    stopper = BudgetStopper(Budget(images=600), epoch_images=100, epochs=3, concurrency=2)
    stopper("a", {"epoch": 3, "images_seen": 300})
    stopper("b", {"epoch": 2, "images_seen": 200})
    assert stopper.stop_all()  # 500 + two more epochs > 600 on an unfinished trial's result
    stopper = BudgetStopper(Budget(images=600), epoch_images=100, epochs=3, concurrency=2)
    stopper("b", {"epoch": 2, "images_seen": 200})
    stopper("a", {"epoch": 3, "images_seen": 300})
    assert not stopper.stop_all()  # a is done; b's next epoch still fits (600)
    stopper("c", {"epoch": 1, "images_seen": 100})
    assert stopper.stop_all() and stopper.spent()["images"] <= 600


def test_consecutive_finished_trials_cannot_overshoot():
    # ASHA-like: trials finish one after another near the end of the budget
    stopper = BudgetStopper(Budget(images=600), epoch_images=100, epochs=1, concurrency=2)
    stopped_at = None
    for index in range(10):
        stopper(f"t{index}", {"epoch": 1, "images_seen": 100})
        if stopper.stop_all():
            stopped_at = index
            break
    assert stopped_at is not None and stopper.spent()["images"] <= 600


def test_gpu_and_emission_caps():
    stopper = BudgetStopper(Budget(gpu_hours=1.0), 100, 5, 2)
    stopper("a", {"epoch": 1, "gpu_seconds": 3599})
    assert not stopper.stop_all()
    stopper("a", {"epoch": 2, "gpu_seconds": 3600})
    assert stopper.stop_all()
    stopper = BudgetStopper(Budget(emissions_kg=0.5), 100, 5, 2)
    stopper("a", {"epoch": 1, "emissions_kg": 0.6})
    assert stopper.stop_all()
    assert not Budget().limited and Budget(images=1).limited


def test_a_resumed_stopper_counts_what_was_spent_before_from_mlflow(tracking_uri):
    """Tune gives a resumed search the stopper pickled at its start (empty); the trials' last
    measures in MLflow make it count the 500 images trained before the crash."""
    import pickle
    from functools import partial

    from mlflow.tracking import MlflowClient

    from nas_service.tracking import (
        PARENT_RUN_ID_TAG,
        TRIAL_ID_TAG,
        budget_was_spent,
        last_trial_measures,
        mark_budget_spent,
        start_parent_run,
    )

    client = MlflowClient(tracking_uri)
    parent = start_parent_run(client, "budget", "search", "stagewise", {})
    experiment = client.get_run(parent).info.experiment_id
    for trial, images in (("t1", 300), ("t2", 200)):
        child = client.create_run(experiment, tags={PARENT_RUN_ID_TAG: parent,
                                                    TRIAL_ID_TAG: trial}).info.run_id
        for epoch in range(1, images // 100 + 1):
            client.log_metric(child, "images_seen", 100 * epoch, step=epoch)
    started = BudgetStopper(Budget(images=800), epoch_images=100, epochs=3, concurrency=2,
                            history=partial(last_trial_measures, tracking_uri, parent),
                            on_exhausted=partial(mark_budget_spent, tracking_uri, parent))
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
