"""One sweep, new or resumed: the tracking store, Ray, the teachers, then Ray Tune over the trials.

Resume is "run the same command again": the Tune experiment lives at a fixed ``<out>/<name>``, so
``Tuner.can_restore`` finds it and ``Tuner.restore`` continues it with the searcher's state; finished trials
are kept, unfinished ones resume from their last checkpoint. The sweep folder also keeps the MLflow parent
run id and a fingerprint of what decides the trials: a rerun with different settings under the same name
fails with one line instead of mixing two sweeps.
"""
from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlkd.config import TEACHER_PLACEHOLDER, build_config
from rlkd.errors import RLKDError
from rlkd_platform.driver.phases import phase
from rlkd_platform.driver.settings import Settings

STATE_FILE = "rlkd_sweep.json"
# Tune snapshots the experiment every >= 10 s by default; a trial finished after the last snapshot would be
# re-entered on resume. Every 2 s keeps that window small (the run logger makes a re-entry harmless anyway).
os.environ.setdefault("TUNE_GLOBAL_CHECKPOINT_S", "2")
# Tune warns when snapshots come faster than every 5 s; with short epochs they do, and it is harmless here.
os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")


@dataclass
class Outcome:
    tracking_uri: str
    experiment: str
    experiment_id: str
    parent_run_id: str
    sweep_dir: Path
    ui_hint: str
    trials: list[dict[str, Any]] = field(default_factory=list)  # trial_id, run_id, name, status, metric, error
    report: str = ""  # the paper table rebuilt from MLflow (ablation sweeps), markdown
    resumed: bool = False
    timings: dict[str, float] = field(default_factory=dict)  # seconds: teachers_s, tune_fit_s, training_s

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [t for t in self.trials if t["status"] != "FINISHED"]


def read_state(sweep_dir: Path) -> dict[str, Any] | None:
    path = sweep_dir / STATE_FILE
    return json.loads(path.read_text()) if path.exists() else None


def write_state(sweep_dir: Path, state: dict[str, Any]) -> None:
    sweep_dir.mkdir(parents=True, exist_ok=True)
    tmp = sweep_dir / (STATE_FILE + ".tmp")
    tmp.write_text(json.dumps(state, indent=2))
    tmp.replace(sweep_dir / STATE_FILE)


def preflight(settings: Settings) -> None:
    """Missing inputs fail here, in the driver, with one line, before anything is started or logged."""
    from rlkd.trainer import check_names
    from rlkd_platform.trial.plan import dotlist

    cfg = build_config([], settings.base)
    if cfg.data.name != "digits" and (cfg.data.root is None or not Path(cfg.data.root).expanduser().exists()):
        raise RLKDError(f"data.root={cfg.data.root}: no such folder for data.name={cfg.data.name}; "
                        "set data.root to the folder holding the data set")
    row_cfgs = {row: build_config(dotlist(values), settings.base) for row, values in settings.rows.items()}
    teachers = sorted({c.model.teacher for c in row_cfgs.values()})
    if cfg.model.teacher_checkpoint and len(teachers) > 1 and TEACHER_PLACEHOLDER not in cfg.model.teacher_checkpoint:
        raise RLKDError(f"the rows use teachers {', '.join(teachers)}, model.teacher_checkpoint names one file; put "
                        f"{TEACHER_PLACEHOLDER} in it for a file per teacher, e.g. /w/{TEACHER_PLACEHOLDER}.pt")
    for row, row_cfg in row_cfgs.items():  # every row (a table may change the models and so the teacher file)
        try:
            check_names(row_cfg)
        except RLKDError as err:
            raise RLKDError(f"row '{row}': {err}") from None
        path = row_cfg.model.teacher_checkpoint_path()
        if path and not Path(path).is_file():
            raise RLKDError(f"row '{row}': model.teacher_checkpoint={path}: no such file for teacher "
                            f"{row_cfg.model.teacher}")


def run(settings: Settings) -> Outcome:
    from rlkd_platform.driver.cluster import check_address, ray_session
    from rlkd_platform.driver.tuning import fit
    from rlkd_platform.tracking.client import git_commit, open_sweep
    from rlkd_platform.tracking.server import tracking_store

    s = settings.sweep
    state = read_state(settings.sweep_dir)
    if state and state["fingerprint"] != settings.fingerprint():
        raise RLKDError(f"sweep '{settings.name}' in {settings.sweep_dir} was started with other settings; rerun "
                        "its original command to resume it, or pass name=<new name> for a new sweep")
    check_address(s.ray.address)
    commit = git_commit()
    tags = {"rlkd.ablation": s.ablation.name, "rlkd.table": s.ablation.table, "rlkd.preset": settings.preset,
            "rlkd.search": settings.search_name or "", "rlkd.git_commit": commit, "mlflow.source.git.commit": commit}
    dashboard = s.ray.dashboard if s.ray.dashboard is not None else (s.asha or s.workers > 1)
    with contextlib.ExitStack() as stack:
        # launched first: it boots while we go on
        store = stack.enter_context(tracking_store(s.mlflow.tracking_uri, settings.out))
        with phase("checked the run config"):
            preflight(settings)
        with phase("ray ready"):
            stack.enter_context(ray_session(s.ray.address, s.ray.num_cpus, dashboard))
        with phase("tracking store ready"):
            store.ready()
        runs = open_sweep(store.uri, settings.experiment, settings.name, (state or {}).get("parent_run_id"),
                          {**tags, "rlkd.sweep": settings.name}, sweep_params(settings),
                          {"sweep.yaml": _yaml({"sweep": settings.options(), "run": settings.base})})
        write_state(settings.sweep_dir, {"fingerprint": settings.fingerprint(), "name": settings.name,
                                         "experiment": settings.experiment, "parent_run_id": runs.parent_run_id})
        outcome = Outcome(store.uri, settings.experiment, runs.experiment_id, runs.parent_run_id, settings.sweep_dir,
                          store.ui_hint)
        fit(settings, runs, tags, outcome)
        if settings.space is None:
            outcome.report = table_report(store.uri, settings)
    return outcome


def table_report(uri: str, settings: Settings) -> str:
    """The sweep's paper table, rebuilt from MLflow and logged to the parent run (ablations/ tables only)."""
    from rlkd_platform.report.build import build_report, write_report
    from rlkd_platform.report.tables import known_tables

    name = settings.sweep.ablation.name
    if name not in known_tables():
        return ""
    try:
        report, client, parent = build_report(uri, name, experiment=settings.experiment, sweep=settings.name)
        paths = write_report(report, settings.sweep_dir / "report", client, parent)
    except RLKDError as err:
        return f"(no table: {err})"
    return report.markdown() + f"\nwritten: {paths['markdown']} and .csv/.png, logged to the parent run\n"


def sweep_params(settings: Settings) -> dict[str, str]:
    """The parent run's params: the sweep options and the base run config. The ablation's rows are a table, not
    params (cell names like "C + U + Ê (full)" are not valid MLflow param keys, and a 36-cell table alone
    would exceed a log_batch's 100 params): they are in the parent's sweep.yaml and on every child run."""
    from rlkd_platform.tracking.client import flatten

    sweep = settings.options()
    sweep["ablation"] = {"name": settings.sweep.ablation.name, "cells": len(settings.rows)}
    return flatten({"sweep": sweep, "run": settings.base})


def _yaml(tree: dict[str, Any]) -> str:
    from omegaconf import OmegaConf

    return OmegaConf.to_yaml(OmegaConf.create(tree))
