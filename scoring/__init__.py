"""Feature importance: criteria as plain numpy/scikit-learn functions, plus the Ray actor serving them."""

from scoring.criteria import CRITERIA, get_criterion, stage_score
from scoring.plsvip import plsvip, vip_scores

__all__ = ["CRITERIA", "get_criterion", "plsvip", "stage_score", "vip_scores"]
