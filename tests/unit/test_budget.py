from nas_service.core.budget import Budget, spent_by
from nas_service.tune.stopper import BudgetStopper


def test_spent_sums_the_last_results():
    results = [
        {"images_seen": 300, "gpu_seconds": 1800, "emissions_kg": 0.1},
        {"images_seen": 100, "gpu_seconds": 1800, "emissions_kg": 0.2},
    ]
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
