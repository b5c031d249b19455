"""The stage-wise NAS service: configuration, the Tune searcher, MLflow bookkeeping and the CLIs."""
