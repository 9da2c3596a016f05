"""The sweep platform around ``rlkd``: Ray Tune drives trials, Ray Train spreads a trial over workers, MLflow records.

Four rooms, named by the side of the wire they run on; imports run one way only (a test walks them):
driver → trial → tracking, driver → report → tracking, and every room may use ``conf`` (the platform's half
of the Hydra tree: sweep options, ablation and search-space groups).

- ``driver/``: the machine that runs ``run_sweep.py``: ``cli``, ``settings`` (compose + checks),
  ``search_space``, ``sweep`` (tracking store + Ray + fit, new or resumed), ``tuning`` (the Tuner: grid or
  Optuna, ASHA, resources), ``cluster`` (connecting to Ray), ``phases`` (start-up progress lines).
- ``trial/``: what one trial is and does, wherever Ray places it: ``plan`` (which trials, each one's run config
  and run name), ``teachers`` (trained once per sweep), ``runtime_config``, ``trainable`` (one training run,
  in-process or data-parallel), ``epoch_hook`` (per-epoch check, log, report), ``checkpoints`` (rank shards).
- ``tracking/``: MLflow: ``server`` (the embedded server), ``client`` (experiment, parent run, closing),
  ``run_logger`` (the rank-zero writer of a trial), ``temperature_plot``, ``analysis_plot``.
- ``report/``: a paper table rebuilt from MLflow alone: ``tables`` (ablations/*.yaml), ``build``
  (``python -m rlkd_platform.report``).

The importable name is ``rlkd_platform`` because a top-level ``platform`` package would shadow the stdlib module.
"""
