"""The Ray Tune part of a sweep: the trainable, the search (Optuna TPE, seeded) or grid, ASHA, resources.

Called with Ray connected and the MLflow parent run open. Trials are named ``trial_<id>`` on disk, so the
results can be matched back to their MLflow child runs by trial id.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rlkd.config import build_config
from rlkd_platform.driver.settings import Settings
from rlkd_platform.tracking.client import TRIAL_TAG, SweepRuns, close_sweep


def trial_dirname(trial: Any) -> str:
    return f"trial_{trial.trial_id}"


def one_line(error: BaseException | None) -> str:
    """The innermost cause's message, on one line (an RLKDError raised in a trial reads as the user wrote it)."""
    if error is None:
        return ""
    seen = error
    while getattr(seen, "cause", None) is not None or seen.__cause__ is not None:
        seen = getattr(seen, "cause", None) or seen.__cause__  # type: ignore[assignment]
    lines = [line.strip() for line in str(seen).strip().splitlines() if line.strip()]
    return f"{type(seen).__name__}: {lines[-1] if lines else ''}"


def trainable(settings: Settings, runs: SweepRuns, tags: dict[str, str]) -> Any:
    from ray import tune

    from rlkd_platform.driver.cluster import trial_resources
    from rlkd_platform.trial.plan import trial_config
    from rlkd_platform.trial.teachers import prepare_teachers
    from rlkd_platform.trial.trainable import TrialSpec, run_trial

    s = settings.sweep
    configs = [trial_config(settings.base, settings.rows, {"row": row, "seed": seed})[1]
               for row in settings.rows for seed in settings.seeds]
    from rlkd_platform.driver.phases import phase

    with phase(f"teachers ready ({len(configs)} trial config(s))"):
        teachers = prepare_teachers(configs, settings.sweep_dir / "teachers", s.cpus_per_worker, s.gpus_per_worker,
                                    in_driver=not s.ray.address)
    spec = TrialSpec(
        sweep=settings.name, base=settings.base, rows=settings.rows, searched=settings.space is not None, tags=tags,
        tracking_uri=runs.tracking_uri, experiment_id=runs.experiment_id, parent_run_id=runs.parent_run_id,
        workers=s.workers, cpus_per_worker=s.cpus_per_worker, gpus_per_worker=s.gpus_per_worker,
        train_storage=str(settings.sweep_dir / "train"), max_failures=s.max_failures, teachers=teachers)
    resources = trial_resources(s.workers, s.cpus_per_worker, s.gpus_per_worker,
                                dict(s.driver_resources or {"memory": 1}))
    return tune.with_resources(tune.with_parameters(run_trial, spec=spec), resources)


def new_tuner(settings: Settings, fn: Any) -> Any:
    from ray import tune

    from rlkd_platform.driver.cluster import max_concurrent
    from rlkd_platform.trial.plan import grid_space, search_space

    s = settings.sweep
    epochs = build_config([], settings.base).optim.epochs
    search_alg, samples = None, 1
    space = settings.space
    if space is not None:
        from ray.tune.search.optuna import OptunaSearch

        param_space = search_space(space.to_tune(), settings.seeds[0])
        search_alg = OptunaSearch(seed=settings.seeds[0], points_to_evaluate=[space.first] if space.first else None)
        samples = s.trials
    else:
        param_space = grid_space(settings.rows, settings.seeds)
    scheduler = None
    if s.asha:
        from ray.tune.schedulers import ASHAScheduler

        scheduler = ASHAScheduler(time_attr="epoch", max_t=epochs, grace_period=s.asha_grace_epochs, reduction_factor=2)
    return tune.Tuner(
        fn, param_space=param_space,
        tune_config=tune.TuneConfig(
            metric=s.metric, mode=s.mode, search_alg=search_alg, scheduler=scheduler, num_samples=samples,
            max_concurrent_trials=max_concurrent(s.workers, s.cpus_per_worker, s.gpus_per_worker, s.max_concurrent),
            trial_dirname_creator=trial_dirname,
            reuse_actors=True),  # the next trial runs in the same process: torch, rlkd and mlflow imported once
        run_config=tune.RunConfig(
            name=settings.name, storage_path=str(settings.out),
            failure_config=tune.FailureConfig(max_failures=s.max_failures),
            checkpoint_config=tune.CheckpointConfig(num_to_keep=2)),
    )


def fit(settings: Settings, runs: SweepRuns, tags: dict[str, str], outcome: Any) -> None:
    from ray import tune

    start = time.perf_counter()
    fn = trainable(settings, runs, tags)
    outcome.timings["teachers_s"] = time.perf_counter() - start
    path = str(settings.sweep_dir)
    outcome.resumed = tune.Tuner.can_restore(path)
    tuner = (tune.Tuner.restore(path, trainable=fn, resume_unfinished=True, resume_errored=True)
             if outcome.resumed else new_tuner(settings, fn))
    start = time.perf_counter()
    results = tuner.fit()
    outcome.timings["tune_fit_s"] = time.perf_counter() - start
    by_trial: dict[str, dict[str, Any]] = {}
    for result in results:  # type: ignore[union-attr]  # a ResultGrid iterates its Results
        trial_id = Path(result.path).name.removeprefix("trial_")
        metrics = result.metrics or {}
        by_trial[trial_id] = {"trial_id": trial_id, "status": "FAILED" if result.error else "FINISHED",
                              "error": one_line(result.error), "metric": metrics.get(settings.sweep.metric),
                              "epochs": metrics.get("epoch"), "config": result.config,
                              "training_s": _training_seconds(result)}
    outcome.timings["training_s"] = sum(t["training_s"] for t in by_trial.values())
    summary = {f"best/{settings.sweep.metric}": v for v in _best(by_trial, settings.sweep.mode)}
    summary.update({"trials/finished": sum(t["status"] == "FINISHED" for t in by_trial.values()),
                    "trials/failed": sum(t["status"] != "FINISHED" for t in by_trial.values())})
    children = close_sweep(runs, set(by_trial), failed=any(t["error"] for t in by_trial.values()),
                           summary=summary, statuses={k: v["status"] for k, v in by_trial.items()})
    for run in children:
        trial = by_trial.get(run.data.tags.get(TRIAL_TAG, ""))
        if trial is not None:
            trial.update(run_id=run.info.run_id, name=run.info.run_name)
    outcome.trials = sorted(by_trial.values(), key=lambda t: t.get("name") or t["trial_id"])


def _training_seconds(result: Any) -> float:
    """Time inside training and evaluation (the Trainer's epoch_time_s), each epoch counted once."""
    frame = result.metrics_dataframe
    if frame is None or "epoch_time_s" not in frame or "epoch" not in frame:
        return 0.0
    return float(frame.drop_duplicates("epoch", keep="last")["epoch_time_s"].sum())


def _best(trials: dict[str, dict[str, Any]], mode: str) -> list[float]:
    values = [t["metric"] for t in trials.values() if isinstance(t["metric"], (int, float))]
    return [max(values) if mode == "max" else min(values)] if values else []
