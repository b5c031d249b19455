"""The Ray Tune plug-ins: the stage-wise and fixed searchers, the budget stopper, the progress and
MLflow callbacks, the cluster connection, signal handling and the code that builds the Tuner."""
