"""Trial side: what one trial is (its config, run name, teacher) and what it does each epoch."""
