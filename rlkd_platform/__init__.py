"""The sweep platform around ``rlkd``: Ray Tune drives trials, Ray Train spreads a trial over workers, MLflow records.

One module per job. Driver side: ``cli`` (what ``run_sweep.py`` calls), ``settings`` (Hydra composition and
checks), ``search_space`` (search_spaces/*.yaml), ``plan`` (which trials, and each one's run config),
``sweep`` (tracking store + Ray + fit, new or resumed), ``tuning`` (the Tuner: grid or Optuna, ASHA,
resources), ``cluster`` (connecting to Ray), ``tracking_server`` (the embedded MLflow server), ``tracking``
(experiment, parent run, closing), ``teachers`` (teachers trained once per sweep). Trial side: ``trial`` (one
training run, in-process or data-parallel), ``runtime_config``, ``epoch_hook`` (per-epoch check, log, report),
``run_logger`` (the rank-zero MLflow writer), ``checkpoints`` (per-epoch checkpoint files),
``temperature_plot``.

The importable name is ``rlkd_platform`` because a top-level ``platform`` package would shadow the stdlib module.
"""
