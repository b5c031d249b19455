import numpy as np
import pytest

from scoring.criteria import get_criterion, stage_score
from scoring.plsvip import plsvip, vip_scores


def test_vip_formula_on_hand_computed_matrices():
    # s_a = ||t_a||^2 ||q_a||^2 = [1, 4]; normalised weights w1 = [0.6, 0.8], w2 = [0, 1].
    x_scores = np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]])
    x_weights = np.array([[3.0, 0.0], [4.0, 1.0]])
    y_loadings = np.eye(2)
    expected = [np.sqrt(2 * (1 * 0.36) / 5), np.sqrt(2 * (1 * 0.64 + 4 * 1.0) / 5)]
    assert vip_scores(x_scores, x_weights, y_loadings) == pytest.approx(expected, rel=1e-12)


def test_one_component_vip_is_the_normalised_covariance_with_the_labels():
    # With two classes and one component, PLS2's weight is proportional to Xs' z (Xs standardised
    # with ddof=1, z the centred label), so VIP_j = sqrt(p) |c_j| / ||c||.
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 10)
    features = rng.normal(size=(20, 4)) + labels[:, None] * np.array([2.0, 0.5, 0.0, -1.0])
    standardised = (features - features.mean(0)) / features.std(0, ddof=1)
    covariance = standardised.T @ (labels - labels.mean())
    expected = np.sqrt(4) * np.abs(covariance) / np.linalg.norm(covariance)
    assert plsvip(features, labels, n_components=1) == pytest.approx(expected, rel=1e-9)


def test_squared_vip_sums_to_the_number_of_features():
    rng = np.random.default_rng(1)
    features, labels = rng.normal(size=(200, 12)), rng.integers(0, 4, 200)
    vip = plsvip(features, labels)
    assert np.sum(vip**2) == pytest.approx(12)
    assert 0 < stage_score(features, labels, "plsvip") <= 1


def test_informative_features_outrank_noise():
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 3, 600)
    class_means = rng.normal(scale=3.0, size=(3, 4))
    informative = class_means[labels] + rng.normal(size=(600, 4))
    noise = rng.normal(scale=5.0, size=(600, 16))
    features = np.hstack([noise[:, :8], informative, noise[:, 8:]])
    ranking = np.argsort(-plsvip(features, labels))
    assert set(ranking[:4]) == {8, 9, 10, 11}


def test_constant_features_get_finite_scores():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 50)
    features = np.hstack([rng.normal(size=(50, 3)), np.ones((50, 2))])
    assert np.isfinite(plsvip(features, labels)).all()


@pytest.mark.parametrize(
    "features,labels,message",
    [
        (np.full((10, 3), np.nan), np.arange(10) % 2, "NaN"),
        (np.ones((10, 3)), np.zeros(10, int), "two classes"),
        (np.ones((10, 3)), np.zeros(9, int), r"\(10, 3\)"),
    ],
)
def test_unusable_inputs_are_clear_errors(features, labels, message):
    with pytest.raises(ValueError, match=message):
        plsvip(features, labels)


def test_unknown_criterion_names_the_value():
    with pytest.raises(ValueError, match="'vip2'"):
        get_criterion("vip2")
