"""What a finished search gives its users, read back from MLflow: the candidates table, the report
with its plots, export of a trained network and the ensemble of the best candidates."""
