"""What the sweep platform costs on top of training.

    .venv/bin/python benchmarks/bench_platform.py            # ~2.5 minutes on 2 CPU cores

Runs three sweeps of the quickstart preset (shrunk: --epochs, 5-epoch teacher, one thread per worker) on a local
Ray (--cpus logical CPUs) with the embedded MLflow server, as a user's `run_sweep.py` would, and reports:
  * fixed cost of one trial = trial wall (Tune's fit, one trial alone) − time inside training and evaluation
    (the Trainer's epoch_time_s), for 1 worker (in-process) and 2 workers (Ray Train, DDP over gloo);
  * sweep efficiency of a 4-trial sweep = Σ training time / wall (Tune's fit, and the whole command),
    with as many 1-worker trials at once as the CPUs fit (so up to --cpus on a perfect platform).
Start-up paid once per sweep (MLflow server, Ray, teacher training) is reported on its own line.
Writes benchmarks/results/platform.json and prints a table. Target: fixed cost of a 1-worker trial <= 8 s.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # local, loopback-only cluster: no token file in HOME
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


def sweep(out: Path, name: str, uri: str, extra: list[str], epochs: int) -> dict:
    from rlkd_platform.driver.settings import load_settings
    from rlkd_platform.driver.sweep import run

    argv = [f"out={out}", f"name={name}", f"mlflow.tracking_uri={uri}", f"optim.epochs={epochs}",
            "model.teacher_pretrain_epochs=5", "agent.warmup_epochs=1", "threads=1", *extra]
    start = time.perf_counter()
    outcome = run(load_settings(argv))
    wall = time.perf_counter() - start
    assert not outcome.failed, outcome.failed
    t = outcome.timings
    return {"name": name, "trials": len(outcome.trials), "command_wall_s": wall, "tune_fit_s": t["tune_fit_s"],
            "training_s": t["training_s"], "teachers_s": t["teachers_s"],
            "fixed_cost_per_trial_s": (t["tune_fit_s"] - t["training_s"]) / max(1, len(outcome.trials)),
            "efficiency_fit": t["training_s"] / t["tune_fit_s"], "efficiency_command": t["training_s"] / wall}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="single 1-worker trials measured (median reported)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "platform.json")
    args = parser.parse_args()
    import ray

    from rlkd_platform.driver.cluster import LOCAL_RAY_ENV
    from rlkd_platform.tracking.server import LocalTrackingServer

    for key, value in LOCAL_RAY_ENV.items():  # what run_sweep.py sets before it starts a local Ray
        os.environ.setdefault(key, value)

    work = Path(tempfile.mkdtemp(prefix="bench-platform-"))
    start = time.perf_counter()
    server = LocalTrackingServer(work / "mlflow.db", work / "mlartifacts").launch(work / "mlflow.log")
    ray.init(num_cpus=args.cpus, include_dashboard=True)  # dashboard: what multi-worker sweeps start with
    server.wait_ready()
    startup = time.perf_counter() - start
    try:
        singles = sorted((sweep(work, f"one-worker-{i}", server.uri, [], args.epochs) for i in range(args.repeats)),
                         key=lambda r: r["fixed_cost_per_trial_s"])
        rows = [
            (f"1 trial, 1 worker (median of {args.repeats})", singles[len(singles) // 2]),
            ("1 trial, 2 workers", sweep(work, "two-workers", server.uri, ["workers=2"], args.epochs)),
            ("4 trials, 1 worker each", sweep(work, "four-trials", server.uri, ["seeds=4"], args.epochs)),
        ]
    finally:
        ray.shutdown()
        server.stop()
    result = {"startup_mlflow_and_ray_s": startup, "epochs": args.epochs, "cpus": args.cpus,
              "sweeps": {label: row for label, row in rows},
              "one_worker_fixed_cost_s_all_repeats": [r["fixed_cost_per_trial_s"] for r in singles]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"\nstart-up once per command (MLflow server + Ray): {startup:.1f} s;  teacher training once per sweep: "
          f"{rows[0][1]['teachers_s']:.1f} s")
    print(f"{'sweep':<34}{'wall (fit)':>11}{'training':>10}{'fixed/trial':>13}{'train/wall':>12}{'train/cmd':>11}")
    for label, r in rows:
        print(f"{label:<34}{r['tune_fit_s']:>10.1f}s{r['training_s']:>9.1f}s{r['fixed_cost_per_trial_s']:>12.1f}s"
              f"{r['efficiency_fit']:>12.2f}{r['efficiency_command']:>11.2f}")
    target = rows[0][1]["fixed_cost_per_trial_s"]
    spread = ", ".join(f"{r['fixed_cost_per_trial_s']:.1f}" for r in singles)
    print(f"\n1-worker fixed cost {target:.1f} s (runs: {spread}; target <= 8 s): "
          f"{'met' if target <= 8 else 'NOT met'}; written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
