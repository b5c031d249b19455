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
* It fits in closed form (one SVD per fold): 5-fold LDA on 50,000 images of 256 features takes
  about a second (docs/criteria.md has the measured time next to PLS-VIP's).

The score is the held-out accuracy over stratified k-fold splits whose seed is fixed, so A and T,
scored on the same images, are split the same way.  When a bootstrap resample repeats an image,
its copies may land in both the fitting and the held-out part; A and T share that optimism, as
they share the resample.
"""

from __future__ import annotations

import warnings

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
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.model_selection import StratifiedKFold

    features, labels = checked_inputs(features, labels, "probe")
    smallest_class = np.bincount(np.unique(labels, return_inverse=True)[1]).min()
    if smallest_class < 2:
        raise ValueError(f"probe: every class needs at least 2 images to hold some out, and one "
                         f"has {smallest_class}")
    varying = features.std(axis=0) > 0
    splits = StratifiedKFold(min(folds, smallest_class), shuffle=True, random_state=FOLD_SEED)
    correct = 0
    for fit, held_out in splits.split(features, labels):
        if not varying.any():  # a collapsed stage: the best guess is the most frequent class
            values, counts = np.unique(labels[fit], return_counts=True)
            correct += int(np.sum(labels[held_out] == values[counts.argmax()]))
            continue
        with warnings.catch_warnings():  # collinear features: the SVD solver drops them, fine
            warnings.simplefilter("ignore", UserWarning)
            model = LinearDiscriminantAnalysis(solver="svd").fit(features[fit][:, varying],
                                                                 labels[fit])
            correct += int(np.sum(model.predict(features[held_out][:, varying])
                                  == labels[held_out]))
    return correct / len(labels)
