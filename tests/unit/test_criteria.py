"""inf-FS and il-FS against references written here from the papers' formulas (loops, explicit
inverses), their behaviour on constructed data, and every criterion on degenerate input."""

import numpy as np
import pytest
from scipy.stats import spearmanr

from scoring.criteria import CRITERIA, get_criterion, stage_score
from scoring.ilfs import DEFAULT_BINS, ilfs
from scoring.inffs import inffs
from scoring.probe import probe


def path_sum_reference(adjacency: np.ndarray) -> np.ndarray:
    """S = (I - rA)^-1 - I, r = 0.99 / max |eigenvalue|, score_i = sum_j S_ij (both papers)."""
    rho = max(abs(np.linalg.eigvals(adjacency)))
    identity = np.eye(len(adjacency))
    return (np.linalg.inv(identity - 0.99 / rho * adjacency) - identity).sum(axis=1)


def inffs_reference(x: np.ndarray, alpha: float) -> np.ndarray:
    n_features = x.shape[1]
    correlation = np.zeros((n_features, n_features))
    sigma = np.zeros((n_features, n_features))
    for i in range(n_features):
        for j in range(n_features):
            rho = spearmanr(x[:, i], x[:, j]).statistic if i != j else 1.0
            correlation[i, j] = 0.0 if np.isnan(rho) else 1 - abs(rho)
            sigma[i, j] = max(x[:, i].std(), x[:, j].std())
    sigma = (sigma - sigma.min()) / (sigma.max() - sigma.min())
    return path_sum_reference(alpha * correlation + (1 - alpha) * sigma)


def ilfs_reference(x: np.ndarray, y: np.ndarray, bins: int, iterations: int) -> np.ndarray:
    """Sample by sample and token by token, as the ICCV 2017 paper describes the steps."""
    n_samples, n_features = x.shape
    classes = sorted(set(y))
    counts = np.zeros((bins, n_features))
    for f in range(n_features):
        column = (x[:, f] - x[:, f].min()) / (x[:, f].max() - x[:, f].min())
        means = {c: column[y == c].mean() for c in classes}
        variance_sum = sum(column[y == c].var() for c in classes)
        for n in range(n_samples):
            distance = {c: (column[n] - means[c]) ** 2 / variance_sum for c in classes}
            share = distance[y[n]] / sum(distance.values())
            counts[min(int(share * bins), bins - 1), f] += 1
    token_given_factor = np.array(
        [[5000 - 4999 * t / (bins - 1), 1 + 4999 * t / (bins - 1)] for t in range(bins)]
    )
    token_given_factor /= token_given_factor.sum(axis=0)
    relevant = counts[: (bins + 1) // 2].sum(axis=0) / n_samples
    factor_given_feature = np.array([relevant, 1 - relevant])
    for _ in range(iterations):
        expected = np.zeros((bins, 2, n_features))
        for t in range(bins):
            for f in range(n_features):
                joint = token_given_factor[t] * factor_given_feature[:, f]
                expected[t, :, f] = counts[t, f] * joint / joint.sum()
        token_given_factor = expected.sum(axis=2) / expected.sum(axis=(0, 2))
        factor_given_feature = expected.sum(axis=0) / n_samples
    p = factor_given_feature[0]
    return path_sum_reference(np.outer(p, p))


@pytest.fixture
def small():
    rng = np.random.default_rng(3)
    y = np.repeat([0, 1, 2], 20)
    x = rng.normal(size=(60, 7)) * rng.uniform(0.5, 3, 7) + np.outer(y, rng.normal(size=7))
    return x, y


@pytest.mark.parametrize("alpha", [0.2, 0.5, 0.9])
def test_inffs_equals_the_papers_formulas(small, alpha):
    x, _ = small
    np.testing.assert_allclose(inffs(x, alpha=alpha), inffs_reference(x, alpha), rtol=1e-9)


def test_ilfs_equals_the_papers_steps(small):
    x, y = small
    # the reference runs a fixed number of EM steps; with tol=0 the implementation runs them all
    expected = ilfs_reference(x, y, DEFAULT_BINS, iterations=25)
    np.testing.assert_allclose(ilfs(x, y, max_iter=25, tol=0.0), expected, rtol=1e-9)


def test_ilfs_scores_have_the_rank_one_closed_form(small):
    """G = p p^T gives score_f = 99 p_f sum(p) / sum(p^2): the mean is 99 mean(p)^2 / mean(p^2)."""
    x, y = small
    scores = ilfs(x, y)
    assert scores.mean() <= 99 + 1e-9 and (scores >= 0).all()
    p = scores / scores.sum()  # proportional to p
    np.testing.assert_allclose(scores, 99 * p * p.sum() / (p**2).sum(), rtol=1e-9)


def informative_data(seed: int, informative: int = 3, noise: int = 12):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(4), 100)
    signal = rng.normal(size=(400, informative)) * 0.5 + y[:, None] * 1.5
    noise_features = rng.normal(size=(400, noise)) * rng.uniform(0.5, 2, noise)
    order = rng.permutation(informative + noise)
    x = np.hstack([signal, noise_features])[:, order]
    return x, y, set(np.argsort(order)[:informative])


@pytest.mark.parametrize("criterion", ["plsvip", "ilfs"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_supervised_criteria_rank_the_informative_features_first(criterion, seed):
    x, y, informative = informative_data(seed)
    scores = get_criterion(criterion)(x, y)
    top = set(np.argsort(-scores)[: len(informative)])
    assert top == informative, (criterion, np.round(scores, 3))


def test_inffs_ranks_independent_features_above_redundant_copies():
    """Copies of one signal are strongly correlated, so their edges are weak (c = 1 - |rho| ~ 0);
    independent features of the same spread are better connected and score higher."""
    rng = np.random.default_rng(0)
    base = rng.normal(size=300)
    copies = np.stack([base + 0.01 * rng.normal(size=300) for _ in range(4)], axis=1)
    independent = rng.normal(size=(300, 4))
    scores = inffs(np.hstack([copies, independent]))
    assert scores[4:].min() > scores[:4].max(), np.round(scores, 3)


def test_inffs_prefers_spread_when_correlation_is_off():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 5)) * np.array([1, 2, 3, 4, 5])
    assert np.all(np.diff(inffs(x, alpha=0.0)) > 0)  # ordered by standard deviation


def degenerate_inputs():
    rng = np.random.default_rng(5)
    y = np.repeat([0, 1], 20)
    x = rng.normal(size=(40, 6))
    constant = x.copy()
    constant[:, 2] = 7.0
    scales = x * np.array([1e-6, 1, 1e6, 1, 1e3, 1e-3])
    wide = rng.normal(size=(10, 50))  # N < F
    return {
        "constant feature": (constant, y),
        "scales 1e-6..1e6": (scales, y),
        "N < F": (wide, np.repeat([0, 1], 5)),
        "all constant": (np.ones((40, 4)), y),
    }


@pytest.mark.parametrize("criterion", sorted(CRITERIA))
@pytest.mark.parametrize("case", sorted(degenerate_inputs()))
def test_scores_stay_finite_on_degenerate_input(criterion, case):
    x, y = degenerate_inputs()[case]
    scores = get_criterion(criterion)(x, y)
    # per-feature scores, or one score of the whole stage (probe, random)
    assert np.shape(scores) in ((x.shape[1],), ()) and np.isfinite(scores).all()
    assert np.isfinite(stage_score(x, y, criterion))


@pytest.mark.parametrize("criterion", ["plsvip", "ilfs", "probe"])
def test_supervised_criteria_refuse_a_single_class(criterion):
    x = np.random.default_rng(0).normal(size=(20, 4))
    with pytest.raises(ValueError, match="at least two classes"):
        get_criterion(criterion)(x, np.zeros(20, int))


def test_inffs_ignores_labels_even_a_single_class():
    x = np.random.default_rng(0).normal(size=(20, 4))
    np.testing.assert_array_equal(inffs(x, np.zeros(20, int)), inffs(x))


@pytest.mark.parametrize("criterion", sorted(CRITERIA))
def test_nan_features_are_a_clear_error(criterion):
    x = np.random.default_rng(0).normal(size=(20, 4))
    x[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        stage_score(x, np.repeat([0, 1], 10), criterion)


def remixed(x: np.ndarray, seed: int) -> np.ndarray:
    """``x`` through a random invertible linear map: the same information, other features."""
    mix = np.random.default_rng(seed).normal(size=(x.shape[1], x.shape[1]))
    assert np.linalg.cond(mix) < 1e4  # invertible, and not nearly singular
    return x @ mix


def test_probe_scores_class_separability_held_out():
    x, y, _ = informative_data(0)
    separable = probe(x, y)
    shuffled = probe(x, np.random.default_rng(0).permutation(y))
    # 4 classes 1.5 apart along 3 features of spread 0.5: LDA separates nearly all of them
    assert separable > 0.95 and shuffled < 0.4, (separable, shuffled)
    assert stage_score(x, y, "probe") == separable  # a stage-level score is taken as it is


def test_probe_is_cross_validated_lda():
    """The same held-out predictions as scikit-learn's LDA fitted fold by fold."""
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    x, y, _ = informative_data(4)
    x = x + np.random.default_rng(4).normal(size=x.shape) * 1.5
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    predicted = cross_val_predict(LinearDiscriminantAnalysis(), x, y, cv=folds)
    assert probe(x, y) == np.mean(predicted == y) and 0.4 < probe(x, y) < 0.95


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_probe_ignores_an_invertible_linear_remix_where_vip_moves(seed):
    x, y, _ = informative_data(seed)
    x = x + np.random.default_rng(seed).normal(size=x.shape)  # harder: not every image separates
    mixed = remixed(x, seed)
    before, after = stage_score(x, y, "probe"), stage_score(mixed, y, "probe")
    assert after == pytest.approx(before, rel=1e-6) and 0.5 < before < 1.0
    vip_before, vip_after = stage_score(x, y, "plsvip"), stage_score(mixed, y, "plsvip")
    assert abs(vip_after - vip_before) > 0.01, (vip_before, vip_after)


def test_probe_holds_out_fewer_folds_for_small_classes_and_refuses_single_images():
    x, y, _ = informative_data(0)
    rows = np.r_[np.flatnonzero(y == 0)[:3], np.flatnonzero(y == 1)[:40]]  # class 0: 3 images
    assert 0 <= probe(x[rows], y[rows]) <= 1
    with pytest.raises(ValueError, match="at least 2 images"):
        probe(x[rows[2:]], y[rows[2:]])


def test_random_grows_half_the_stages_and_repeats_with_its_key():
    x, y, _ = informative_data(0)
    wins = [
        stage_score(x, y, "random", key=(7, iteration, 0, 3, 3, 3, stage))
        < stage_score(x, y, "random", key=(7, iteration, 0, 4, 4, 4, stage))
        for iteration in range(1, 101)
        for stage in range(4)
    ]
    # 400 fair coin flips: the share of growth is within 0.5 +- 0.075 (3 standard deviations)
    assert abs(np.mean(wins) - 0.5) < 0.075, np.mean(wins)
    again = [
        stage_score(x, y, "random", key=(7, iteration, 0, 3, 3, 3, stage))
        < stage_score(x, y, "random", key=(7, iteration, 0, 4, 4, 4, stage))
        for iteration in range(1, 101)
        for stage in range(4)
    ]
    assert again == wins
    other_seed = [
        stage_score(x, y, "random", key=(8, iteration, 0, 3, 3, 3, stage))
        < stage_score(x, y, "random", key=(8, iteration, 0, 4, 4, 4, stage))
        for iteration in range(1, 101)
        for stage in range(4)
    ]
    assert other_seed != wins
