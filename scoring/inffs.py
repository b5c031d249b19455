"""Infinite Feature Selection (inf-FS), unsupervised.

References: Roffo, Melzi and Cristani, "Infinite Feature Selection", ICCV 2015; the version
implemented is FSLib's ``infFS.m`` v4.0 (Aug 2016) with ``supervision = 0`` (its default branch is
a Fisher variant for binary labels only), as docs/method.md, "Criteria", describes step by step.

Features are the nodes of a complete graph.  An edge is strong between features that disagree
(low rank correlation) and vary a lot; every path of every length through the graph is summed
with a geometric decay, and a feature's score is the total weight of the paths that start at it:
central features of a varied, non-redundant set score high, redundant copies score low.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

from scoring.inputs import checked_inputs

DEFAULT_ALPHA = 0.5  # "should be cross-validated" (FSLib); the paper's tuned value is not given
PATH_DECAY = 0.99  # r = 0.99 / spectral radius: the series of paths converges


def infinite_path_scores(adjacency: np.ndarray, decay: float = PATH_DECAY) -> np.ndarray:
    """score_i = sum_j S_ij with S = sum_{l>=1} (rA)^l = (I - rA)^-1 - I and r = decay / rho(A).

    ``adjacency`` is a symmetric non-negative (F, F) matrix.  All zeros (no edge anywhere, e.g.
    every feature constant) gives zero scores rather than a division by zero."""
    spectral_radius = np.abs(np.linalg.eigvalsh(adjacency)).max()
    if spectral_radius == 0.0:
        return np.zeros(len(adjacency))
    r = decay / spectral_radius
    identity = np.eye(len(adjacency))
    paths = np.linalg.solve(identity - r * adjacency, identity) - identity
    return paths.sum(axis=1)


def spearman_matrix(features: np.ndarray) -> np.ndarray:
    """(F, F) Spearman correlations of the columns (average ranks for ties); NaN where a column is
    constant."""
    ranks = np.apply_along_axis(rankdata, 0, features)
    centred = ranks - ranks.mean(axis=0)
    norms = np.linalg.norm(centred, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (centred.T @ centred) / np.outer(norms, norms)


def inffs(features: np.ndarray, labels: np.ndarray | None = None, alpha: float = DEFAULT_ALPHA) -> np.ndarray:
    """Per-feature inf-FS scores (higher = more important); ``labels`` are ignored (unsupervised).

    Args:
        features: (n_samples, n_features) real matrix.
        labels: accepted for the common criterion signature, not used.
        alpha: weight of the correlation term; 1 - alpha weighs the spread term.
    Returns:
        (n_features,) finite scores >= 0.

    Steps (FSLib v4.0): c_ij = 1 - |Spearman(f_i, f_j)| (NaN, from constant features, -> 0);
    sigma_ij = max(std_i, std_j), min-max normalised over the matrix to [0, 1] (all zero when all
    stds are equal); A = alpha c + (1 - alpha) sigma; scores from ``infinite_path_scores``.
    """
    features, _ = checked_inputs(features, None, "inf-FS")  # unsupervised: labels unused
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha {alpha} must be in [0, 1]")
    correlation = np.nan_to_num(1.0 - np.abs(spearman_matrix(features)), nan=0.0, posinf=0.0, neginf=0.0)
    spread = features.std(axis=0)
    sigma = np.maximum.outer(spread, spread)
    span = sigma.max() - sigma.min()
    sigma = (sigma - sigma.min()) / span if span > 0 else np.zeros_like(sigma)
    return infinite_path_scores(alpha * correlation + (1.0 - alpha) * sigma)
