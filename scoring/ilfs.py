"""Infinite Latent Feature Selection (il-FS), supervised.

References: Roffo, Melzi, Castellani and Vinciarelli, "Infinite Latent Feature Selection: A
Probabilistic Latent Graph-Based Ranking Approach", ICCV 2017; FSLib's ``ILFS.m`` and the Python
port, whose choices this follows (docs/method.md, "Criteria", lists how the copies differ):

1. **Discriminative quantisation.**  Features are min-max normalised.  For sample n and feature f,
   d_c = (x_nf - mu_cf)^2 / sum_c var_cf is its distance to the mean of class c; the sample's
   *token* is the bin (of ``bins`` equal bins over [0, 1]) of its own class's share
   d_y / sum_c d_c.  A low share means the feature puts the sample near its own class.  (The
   variance sum divides every d_c of a feature alike, so it cancels in the share.)  Every class
   counts, not only two (ILFS v5.2 hard-codes two).
2. **PLSA** with two latent factors, relevant and irrelevant, over the (token x feature) count
   matrix: P(token | factor) starts as linspace(5000..1) for the relevant factor and the reverse
   for the other, P(relevant | feature) as the share of the feature's samples in the lower half of
   the bins; EM until the log-likelihood gains less than ``tol`` (relative) or ``max_iter``
   iterations.  The M-step updates P(token | factor) (in v5.2 and the matFR copy a misspelled
   variable keeps it at its initial value).
3. **Graph and paths.**  G = p p^T with p_f = P(relevant | f), scored by inf-FS's path sum
   (``infinite_path_scores``, r = 0.99 / rho(G)).  G has rank one, so the scores equal
   99 p_f sum(p) / sum(p^2) exactly (``tests/unit/test_criteria.py`` checks both ways).
"""

from __future__ import annotations

import numpy as np

from scoring.inffs import infinite_path_scores
from scoring.inputs import checked_inputs

DEFAULT_BINS = 6  # FSLib's demo call and the Python port (3 in ILFS_fast, 4 in v5.2)


def minmax_columns(features: np.ndarray) -> np.ndarray:
    """Each column to [0, 1]; constant columns become 0."""
    low, high = features.min(axis=0), features.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    return (features - low) / span


def class_distance_shares(features: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(N, F) share of each sample's own-class distance in its distances to all class means.

    Where every distance is zero (the sample sits on every class mean, e.g. a constant feature)
    the feature says nothing about the class: the share is 1/C, that of no preference."""
    classes, encoded = np.unique(labels, return_inverse=True)
    means = np.stack([features[encoded == k].mean(axis=0) for k in range(len(classes))])
    distances = np.stack([(features - mean) ** 2 for mean in means])  # (C, N, F), C is small
    own = np.take_along_axis(distances, encoded[None, :, None], axis=0)[0]
    total = distances.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, own / total, 1.0 / len(classes))


def token_counts(shares: np.ndarray, bins: int) -> np.ndarray:
    """(bins, F): how many samples of each feature fall in each of ``bins`` equal bins of [0, 1]."""
    tokens = np.minimum((shares * bins).astype(np.int64), bins - 1)
    n_features = shares.shape[1]
    flat = tokens * n_features + np.arange(n_features)
    return np.bincount(flat.ravel(), minlength=bins * n_features).reshape(bins, n_features)


def relevance_by_plsa(counts: np.ndarray, max_iter: int = 100, tol: float = 1e-6) -> np.ndarray:
    """P(relevant | feature) from a two-factor PLSA of the (token x feature) ``counts``."""
    bins, n_features = counts.shape
    token_given_factor = np.stack([np.linspace(5000, 1, bins), np.linspace(1, 5000, bins)], axis=1)
    token_given_factor /= token_given_factor.sum(axis=0)
    low_half = counts[: (bins + 1) // 2].sum(axis=0) / counts.sum(axis=0)
    relevant = np.clip(low_half, 1e-3, 1 - 1e-3)
    factor_given_feature = np.stack([relevant, 1 - relevant])  # (2, F)
    previous = -np.inf
    for _ in range(max_iter):
        joint = token_given_factor[:, :, None] * factor_given_feature[None, :, :]  # (T, 2, F)
        token_given_feature = joint.sum(axis=1)
        likelihood = float((counts * np.log(token_given_feature + 1e-300)).sum())
        if likelihood - previous < tol * abs(likelihood):
            break
        previous = likelihood
        expected = counts[:, None, :] * joint / (token_given_feature[:, None, :] + 1e-300)
        token_given_factor = expected.sum(axis=2) / expected.sum(axis=(0, 2))
        factor_given_feature = expected.sum(axis=0) / counts.sum(axis=0)
    return factor_given_feature[0]


def ilfs(
    features: np.ndarray, labels: np.ndarray, bins: int = DEFAULT_BINS, max_iter: int = 100, tol: float = 1e-6
) -> np.ndarray:
    """Per-feature il-FS scores (higher = more important).

    Args:
        features: (n_samples, n_features) real matrix; min-max normalised per column, so units
            do not matter.
        labels: (n_samples,) integer class labels, at least two classes.
        bins: quantisation bins of the own-class distance share (the paper's T).
        max_iter, tol: EM stopping rule of the PLSA.
    Returns:
        (n_features,) finite scores >= 0.
    """
    features, labels = checked_inputs(features, labels, "il-FS")
    if bins < 2:
        raise ValueError(f"bins {bins} must be at least 2")
    counts = token_counts(class_distance_shares(minmax_columns(features), labels), bins)
    relevance = relevance_by_plsa(counts, max_iter, tol)
    return infinite_path_scores(np.outer(relevance, relevance))
