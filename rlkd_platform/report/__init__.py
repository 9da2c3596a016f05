"""A paper table rebuilt from MLflow alone, with the paper's numbers beside ours."""
