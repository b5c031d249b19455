"""The search's pure logic: growth rule, budget, depth space, decisions, Pareto fronts, quality
figures and trial names.  Nothing here imports Ray or torch (``tests/unit/test_layout.py``), so it can be
read, tested and reused without either."""
