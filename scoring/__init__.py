"""Feature importance: criteria as plain numpy/scikit-learn functions, plus the Ray actor serving them."""
