"""Importance criteria by name, all with the signature ``(features, labels) -> scores``, and the
stage score the growth rule compares.

A criterion returns either per-feature scores (shape (F,): the paper's criteria), whose mean is
the stage's score, or one score for the whole stage (a 0-d value: ``probe``, ``random``).  One
that draws random numbers takes a keyword ``key`` as well: integers that name the network and
stage being scored, to seed its generator from, so that a search reproduces.

Criteria are named by import path and imported when used, so checking a name (the CLI does) does
not import scikit-learn.  A user's own criterion is given by its import path, ``package.module:function``,
with the same signature."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from functools import cache
from pkgutil import resolve_name

import numpy as np

Criterion = Callable[..., np.ndarray | float]

CRITERIA: dict[str, str] = {
    "plsvip": "scoring.plsvip:plsvip",  # the paper's best: supervised, PLS + VIP
    "inffs": "scoring.inffs:inffs",  # unsupervised: infinite feature selection
    "ilfs": "scoring.ilfs:ilfs",  # supervised: infinite latent feature selection
    "probe": "scoring.probe:probe",  # supervised: held-out accuracy of a linear classifier
    "random": "scoring.null:random_score",  # the null control: a coin flip per stage
}


def get_criterion(name: str) -> Criterion:
    """A built-in criterion by name, or any function by its ``module:function`` import path."""
    if name not in CRITERIA and ":" not in name:
        raise ValueError(
            f"criterion {name!r} is not one of {', '.join(CRITERIA)} nor an import path module:function"
        )
    try:
        criterion = resolve_name(CRITERIA.get(name, name))
    except (ImportError, AttributeError, ValueError) as error:
        raise ValueError(f"criterion {name!r} cannot be imported ({error})") from None
    if not callable(criterion):
        raise ValueError(f"criterion {name!r} is not a function")
    return criterion


@cache
def takes_key(criterion: str) -> bool:
    """Whether the criterion draws random numbers, seeded from a ``key`` keyword."""
    try:
        return "key" in inspect.signature(get_criterion(criterion)).parameters
    except (TypeError, ValueError):  # a callable without a signature Python can read
        return False


def stage_score(features: np.ndarray, labels: np.ndarray, criterion: str, key: Sequence[int] = ()) -> float:
    """A stage's importance: the mean per-feature importance of its output features (the paper),
    or the criterion's own stage score.  ``key`` seeds a criterion that draws random numbers.

    The growth rule compares this number between A and T for the same stage, so it must mean the
    same in both.  It does: both networks are scored on the same images
    (``trainables.features.scoring_sample``), pooled the same way, and a stage has the same width
    and resolution in A and T, hence the same number of features F.  Every criterion normalises its
    scores independently of the network: VIP's squares sum to F (mean in (0, 1]), inf-FS and il-FS
    sum paths with r = 0.99 / spectral radius (mean in [0, 99]); the mean removes what is left of F.
    ``probe`` is an accuracy in [0, 1] and ``random`` a draw in [0, 1).
    """
    scorer = get_criterion(criterion)
    scores = scorer(features, labels, key=tuple(key)) if takes_key(criterion) else scorer(features, labels)
    if not np.isfinite(scores).all():
        raise ValueError(
            f"criterion {criterion!r} gave non-finite scores for features of shape {np.shape(features)}"
        )
    return float(np.mean(scores))
