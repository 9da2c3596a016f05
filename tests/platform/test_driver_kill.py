"""kill -9 the sweep driver mid-search; the same command finishes the sweep. No trial runs twice, no epoch is
lost or logged twice, and every trial ends with the numbers of a run that was never interrupted."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from platform_helpers import ROOT, history, mlflow_client, tiny

EPOCHS = 4
COMPARED = ["train/acc", "train/loss", "test/acc", "test/best_acc", "temp/mean", "temp/std", "ppo/approx_kl"]


def children(client, sweep: str) -> list:
    experiment = client.get_experiment_by_name("search-rlkd")
    if experiment is None:
        return []
    runs = client.search_runs([experiment.experiment_id], f"tags.`rlkd.sweep` = '{sweep}'")
    return [r for r in runs if r.data.tags.get("rlkd.role") != "sweep"]


def reference_history(params: dict[str, str], sweep_dir: Path, work: Path) -> list[dict]:
    """The same config, rebuilt from the run's logged params, trained in-process without Ray or MLflow."""
    from rlkd.config import build_config
    from rlkd.trainer import Trainer
    from rlkd_platform.trial.teachers import teacher_key

    logged = [f"{k}={v}" for k, v in params.items()]
    teacher = sweep_dir / "teachers" / f"{teacher_key(build_config(logged))}.pt"
    cfg = build_config(logged + [f"out_dir={work}", f"model.teacher_checkpoint={teacher}"])
    trainer = Trainer(cfg)
    trainer.fit()
    return trainer.history


def test_killed_driver_resumes_with_the_same_command(tmp_path, infra):
    client = mlflow_client(infra["server"])
    command = [sys.executable, str(ROOT / "run_sweep.py"), f"out={tmp_path}", "name=killed-driver", "search=rlkd",
               "trials=3", "max_concurrent=1", *infra["args"], *tiny(EPOCHS)]
    log = open(tmp_path / "first.log", "w")
    start = time.perf_counter()
    first = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and first.poll() is None:  # one trial done, the next one mid-way
        runs = children(client, "killed-driver")
        done = [r for r in runs if r.info.status == "FINISHED"]
        running = [r for r in runs if r.info.status == "RUNNING"]
        if done and running and len(history(client, running[0].info.run_id, "epoch")) >= 2:
            break
        time.sleep(0.2)
    assert first.poll() is None, (tmp_path / "first.log").read_text()[-3000:]
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    interrupted = {r.info.run_id for r in children(client, "killed-driver") if r.info.status == "RUNNING"}
    assert interrupted

    second = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=400)
    print(f"\n[timing] search killed and resumed: {time.perf_counter() - start:.1f} s")
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert "Restoring the run" in second.stderr + second.stdout

    runs = children(client, "killed-driver")
    assert len(runs) == 3 and {r.info.status for r in runs} == {"FINISHED"}  # none duplicated, none orphaned
    assert len({r.data.tags["rlkd.trial_id"] for r in runs}) == 3
    for run in runs:
        if run.info.run_id in interrupted:
            assert run.data.tags.get("rlkd.restarts") == "1" and int(run.data.tags["rlkd.resumed_from_epoch"]) >= 1
        expected = reference_history(run.data.params, tmp_path / "killed-driver", tmp_path / run.info.run_id)
        for key in COMPARED:
            assert history(client, run.info.run_id, key) == [(r["epoch"], r[key]) for r in expected], key
