"""A stage's class separability, measured held out: the ``probe`` criterion.

PLS + VIP scores how evenly relevance spreads over a stage's features (the squares of the VIPs
sum to F, so their mean is sqrt(1 - their variance)), not how well the stage tells the classes
apart.  ``probe`` asks the second question directly: how accurately does a linear classifier,
fitted on some of the scored images' pooled features, classify the others?

The classifier is linear discriminant analysis, chosen over the two the field usually reaches
for because a stage score must not depend on how a network happens to mix its channels:

* LDA's decisions are invariant to any invertible linear remix of the features (they depend on
  the features only through the within-class Mahalanobis geometry), so two stages that separate
  the classes equally well score equally.  Logistic regression needs a penalty on
  high-dimensional, often separable features, and the penalty is not invariant: it shrinks
  coefficients in the basis the features came in.  PLS-DA depends on the features' scale and
  covariance in the same way.
* It fits in closed form from sufficient statistics (class sums and the sum of outer products):
  one pass over the images serves every fold, since a fold's fitting images are the whole set
  minus its held-out part.  docs/performance.md gives the measured time next to PLS-VIP's.

The score is the held-out accuracy over stratified k-fold splits whose seed is fixed, so A and T,
scored on the same images, are split the same way.  When a bootstrap resample repeats an image,
its copies may land in both the fitting and the held-out part; A and T share that optimism, as
they share the resample.
"""

from __future__ import annotations

import numpy as np

from scoring.inputs import checked_inputs

FOLDS = 5
FOLD_SEED = 0


def probe(features: np.ndarray, labels: np.ndarray, folds: int = FOLDS) -> float:
    """Held-out accuracy of LDA on ``features``, over ``folds`` stratified splits.

    Args:
        features: (n_samples, n_features) pooled stage outputs.
        labels: (n_samples,) integer class labels, at least two classes.
        folds: k of the cross-validation, fewer when a class has fewer images than k (at least 2).
    Returns:
        A stage-level score in [0, 1] (the share of images classified correctly when held out);
        ``scoring.criteria.stage_score`` takes it as it is.
    """
    from sklearn.model_selection import StratifiedKFold

    features, labels = checked_inputs(features, labels, "probe")
    classes, encoded = np.unique(labels, return_inverse=True)
    smallest_class = np.bincount(encoded).min()
    if smallest_class < 2:
        raise ValueError(
            f"probe: every class needs at least 2 images to hold some out, and one has {smallest_class}"
        )
    splits = StratifiedKFold(min(folds, smallest_class), shuffle=True, random_state=FOLD_SEED)
    held_out_parts = [held_out for _, held_out in splits.split(features, encoded)]
    x = standardised(features)
    statistics = [class_statistics(x[part], encoded[part], len(classes)) for part in held_out_parts]
    total = [sum(parts) for parts in zip(*statistics, strict=True)]
    correct = 0
    for part, held_out in zip(held_out_parts, statistics, strict=True):
        fitted = [whole - part_of for whole, part_of in zip(total, held_out, strict=True)]
        predicted = lda_predict(x[part], *fitted)
        correct += int(np.sum(predicted == encoded[part]))
    return correct / len(labels)


def standardised(features: np.ndarray) -> np.ndarray:
    """Centred features with unit spread, constant ones dropped: LDA does not change under
    either, and its covariance is better conditioned (float64 keeps the remix invariance)."""
    spread = features.std(axis=0)
    varying = spread > 0
    return (features[:, varying] - features[:, varying].mean(axis=0)) / spread[varying]


def class_statistics(
    x: np.ndarray, encoded: np.ndarray, num_classes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(per-class counts, per-class sums, sum of outer products) of some images: sums, so that
    the statistics of a fold's fitting images are the whole set's minus the held-out part's
    (one pass over the images for every fold, instead of one fit per fold)."""
    counts = np.bincount(encoded, minlength=num_classes).astype(float)
    sums = np.zeros((num_classes, x.shape[1]))
    np.add.at(sums, encoded, x)
    return counts, sums, x.T @ x


def lda_predict(x: np.ndarray, counts: np.ndarray, sums: np.ndarray, outer: np.ndarray) -> np.ndarray:
    """The class LDA assigns to each row of ``x``, fitted from sufficient statistics: class
    means, the pooled within-class covariance (pseudo-inverted where features are collinear)
    and the classes' shares as priors.  A collapsed stage (no feature varies) predicts the most
    frequent class."""
    present = counts > 0
    if x.shape[1] == 0:
        return np.full(len(x), int(np.argmax(counts)))
    means = sums[present] / counts[present, None]
    within = outer - (means * counts[present, None]).T @ means
    covariance = within / max(counts.sum() - present.sum(), 1.0)
    values, vectors = np.linalg.eigh(covariance)
    keep = values > values.max() * covariance.shape[0] * np.finfo(float).eps
    precision = (vectors[:, keep] / values[keep]) @ vectors[:, keep].T
    weights = means @ precision  # (classes, features)
    bias = -0.5 * np.einsum("cf,cf->c", weights, means) + np.log(counts[present] / counts.sum())
    return np.flatnonzero(present)[np.argmax(x @ weights.T + bias, axis=1)]
