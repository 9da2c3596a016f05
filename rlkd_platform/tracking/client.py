"""MLflow layout of a sweep, driver side: one experiment per ablation or search, one parent run per sweep.

Trials log their own child runs (``run_logger``); here the driver creates or reattaches the parent run (its id
is kept in the sweep folder, so a resumed sweep keeps one parent), and at the end closes it, marks child runs
of trials Tune no longer knows (a trial started after Tune's last state snapshot, then the driver died) as
KILLED, and lists where everything is.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlkd.compose import PROJECT_ROOT
from rlkd_platform.tracking.temperature_plot import log_temperature_plot

PARENT_TAG = "mlflow.parentRunId"
TRIAL_TAG = "rlkd.trial_id"


def git_commit(root: Path = PROJECT_ROOT) -> str:
    """HEAD's sha, with '+dirty' when the working tree differs from it; 'unknown' outside git."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                             timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """{'agent': {'clip_eps': 0.2}} -> {'agent.clip_eps': '0.2'}: MLflow params are flat strings."""
    out: dict[str, str] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, name + "."))
        else:
            out[name] = json.dumps(value) if isinstance(value, (list, dict, bool)) or value is None else str(value)
    return out


def config_hash(tree: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(tree, sort_keys=True, default=str).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class SweepRuns:
    tracking_uri: str
    experiment_name: str
    experiment_id: str
    parent_run_id: str


def client(tracking_uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri)


def log_params(mlflow_client: Any, run_id: str, params: dict[str, str]) -> None:
    """All of ``params``, 100 per call (MLflow's log_batch limit), values cut to MLflow's 6,000 characters."""
    from mlflow.entities import Param

    items = [Param(k, v[:6000]) for k, v in params.items()]
    for i in range(0, len(items), 100):
        mlflow_client.log_batch(run_id, params=items[i:i + 100])


def open_sweep(tracking_uri: str, experiment: str, sweep_name: str, parent_run_id: str | None,
               tags: dict[str, str], params: dict[str, str], texts: dict[str, str] | None = None) -> SweepRuns:
    """Get or create the experiment; reattach the sweep's parent run, or create it (params, then ``texts``:
    artifact file -> content)."""
    c = client(tracking_uri)
    exp = c.get_experiment_by_name(experiment)
    experiment_id = exp.experiment_id if exp else c.create_experiment(experiment)
    if exp is not None and exp.lifecycle_stage == "deleted":
        c.restore_experiment(experiment_id)
    if parent_run_id:
        c.update_run(parent_run_id, status="RUNNING")
    else:
        run = c.create_run(experiment_id, run_name=sweep_name, tags={**tags, "rlkd.role": "sweep"})
        parent_run_id = run.info.run_id
        log_params(c, parent_run_id, params)
        for path, text in (texts or {}).items():
            c.log_text(parent_run_id, text, path)
    return SweepRuns(tracking_uri, experiment, experiment_id, parent_run_id)


def child_runs(runs: SweepRuns) -> list[Any]:
    c = client(runs.tracking_uri)
    return c.search_runs([runs.experiment_id], filter_string=f"tags.`{PARENT_TAG}` = '{runs.parent_run_id}'",
                         max_results=10000, order_by=["attributes.start_time ASC"])


def close_sweep(runs: SweepRuns, trial_ids: set[str], failed: bool, summary: dict[str, float],
                statuses: dict[str, str]) -> list[Any]:
    """End the parent run and any child run left open; nothing is ever deleted.

    A child still RUNNING here was stopped from outside: by ASHA (Tune stops the trial, which cannot close its
    run: FINISHED, tagged early-stopped, plot added here), by a failure (FAILED), or it belongs to a trial Tune
    does not know
    (started after Tune's last snapshot, then the driver died: KILLED, tagged orphan).
    """
    import time

    from mlflow.entities import Metric

    c = client(runs.tracking_uri)
    for run in child_runs(runs):
        if run.info.status not in ("RUNNING", "SCHEDULED"):
            continue
        trial_id = run.data.tags.get(TRIAL_TAG, "")
        if trial_id not in trial_ids:
            c.set_tag(run.info.run_id, "rlkd.orphan", "true")
            c.set_terminated(run.info.run_id, status="KILLED")
        elif statuses.get(trial_id) == "FINISHED":
            c.set_tag(run.info.run_id, "rlkd.early_stopped", "true")
            log_temperature_plot(c, run.info.run_id, run.info.run_name)
            c.set_terminated(run.info.run_id, status="FINISHED")
        else:
            c.set_terminated(run.info.run_id, status="FAILED")
    now = int(time.time() * 1000)
    c.log_batch(runs.parent_run_id, metrics=[Metric(k, float(v), now, 0) for k, v in summary.items()])
    c.set_terminated(runs.parent_run_id, status="FAILED" if failed else "FINISHED")
    return child_runs(runs)
