"""Partial least squares + Variable Importance in Projection (the paper's best criterion).

References: Wold, Johansson and Cocchi, "PLS: partial least squares projections to latent
structures" (1993) for VIP; Jordao et al., "Stage-Wise Neural Architecture Search", ICPR 2020,
Sec. III, and the authors' ``vip()`` (docs/method.md, "Criteria"), which this reproduces.
"""

from __future__ import annotations

import numpy as np
from sklearn.cross_decomposition import PLSRegression

from scoring.inputs import checked_inputs


def one_hot(labels: np.ndarray) -> np.ndarray:
    """Integer labels -> one column per class present (the authors' ``to_categorical``: PLS2)."""
    classes, encoded = np.unique(labels, return_inverse=True)
    return np.eye(len(classes))[encoded]


def vip_scores(x_scores: np.ndarray, x_weights: np.ndarray, y_loadings: np.ndarray) -> np.ndarray:
    """VIP_j = sqrt(p * sum_a s_a (w_ja / ||w_a||)^2 / sum_a s_a), s_a = ||t_a||^2 ||q_a||^2.

    Args:
        x_scores: T, (n_samples, n_components).
        x_weights: W, (n_features, n_components).
        y_loadings: Q, (n_targets, n_components).
    Returns:
        (n_features,) VIP values; their squares sum to n_features.
    """
    explained = (x_scores**2).sum(axis=0) * (y_loadings**2).sum(axis=0)
    normalised_weights = x_weights / np.linalg.norm(x_weights, axis=0, keepdims=True)
    n_features = x_weights.shape[0]
    return np.sqrt(n_features * (normalised_weights**2 @ explained) / explained.sum())


def plsvip(features: np.ndarray, labels: np.ndarray, n_components: int = 2) -> np.ndarray:
    """Per-feature VIP of a PLS2 model from features to one-hot labels.

    Args:
        features: (n_samples, n_features) real matrix; columns are standardised by PLS
            (``scale=True``, constant columns keep unit scale), so units do not matter.
        labels: (n_samples,) integer class labels, at least two classes.
        n_components: latent components; 2 as in the authors' code ("not recommended" to change).
            Capped at n_features and n_samples - 1.
    Returns:
        (n_features,) importances >= 0 whose mean is in [0, 1] (0 for constant columns).
    """
    features, labels = checked_inputs(features, labels, "PLS-VIP")
    # constant columns carry no information: VIP 0 (PLS gives them zero weight anyway, and fails
    # outright when every column is constant, e.g. a stage whose outputs collapsed)
    varying = features.std(axis=0) > 0
    if not varying.any():
        return np.zeros(features.shape[1])
    components = max(1, min(n_components, int(varying.sum()), len(features) - 1))
    pls = PLSRegression(n_components=components, scale=True).fit(features[:, varying], one_hot(labels))
    weights = np.zeros((features.shape[1], components))
    weights[varying] = pls.x_weights_
    return vip_scores(pls.x_scores_, weights, pls.y_loadings_)
