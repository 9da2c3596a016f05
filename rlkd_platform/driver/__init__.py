"""Driver side: the machine that runs ``run_sweep.py`` (settings, Ray, Tune, the sweep's lifetime)."""
