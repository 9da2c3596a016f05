"""``run_sweep.py``'s body: parse, run, and say where the results are. Bad input: ``error: <one line>``, exit 2."""
from __future__ import annotations

import sys
from typing import Any

from rlkd.compose import CONF_DIR
from rlkd.errors import RLKDError


def print_outcome(outcome: Any, metric: str) -> None:
    print("", flush=True)
    print(f"{'trial':<12} {'mlflow run':<34} {'name':<28} {'status':<9} {metric}")
    for t in outcome.trials:
        value = t.get("metric")
        shown = f"{value:.4f}" if isinstance(value, (int, float)) else "-"
        print(f"{t['trial_id']:<12} {t.get('run_id', '-'):<34} {str(t.get('name', '-')):<28} {t['status']:<9} {shown}")
        if t.get("error"):
            print(f"    error: {t['error']}")
    t = outcome.timings
    if t.get("tune_fit_s"):
        print(f"\ntrials: {t['tune_fit_s']:.1f} s wall, {t['training_s']:.1f} s of it training and evaluation")
    print(f"\nMLflow experiment '{outcome.experiment}' (id {outcome.experiment_id}), "
          f"parent run {outcome.parent_run_id}")
    print(f"tracking URI: {outcome.tracking_uri} (stopped with the sweep when it was started for it)")
    print(f"UI: {outcome.ui_hint}")
    print(f"Tune state and checkpoints: {outcome.sweep_dir}  (rerun the same command to resume)", flush=True)
    if outcome.report:
        print("\n" + outcome.report, flush=True)


def usage() -> str:
    return (f"usage: run_sweep.py [key=value ...]\n\nSweep options (defaults in {CONF_DIR / 'config.yaml'}):\n"
            + (CONF_DIR / "config.yaml").read_text()
            + "\nRun-config keys: python -m rlkd.train --print-config\n")


def main(argv: list[str]) -> int:
    if any(a in ("-h", "--help") for a in argv):
        print(usage())
        return 0
    try:
        from rlkd_platform.driver.settings import load_settings

        settings = load_settings(argv)
        print(f"sweep '{settings.name}' -> {settings.sweep_dir}", flush=True)
        from rlkd_platform.driver.sweep import run

        outcome = run(settings)
    except RLKDError as err:
        print(f"error: {err}", file=sys.stderr, flush=True)
        return 2
    print_outcome(outcome, settings.sweep.metric)
    return 1 if outcome.failed else 0
