"""The search methods, each one Tune experiment tracked in MLflow: stage-wise, the baselines
(random, ASHA, TPE), uniform networks, one given network, cross-data-set transfer, and the
comparison that runs them at an equal budget."""
