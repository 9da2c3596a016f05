"""MLflow: the embedded server, the driver's parent run, a trial's rank-zero run logger, plots."""
