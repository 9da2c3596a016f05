"""Time per step of every KD loss with fixed T and with RLKD: resnet32x4 → resnet8x4, batch 64.

    .venv/bin/python benchmarks/bench_losses.py [--steps 8] [--device cpu] [--out benchmarks/results/losses.json]

Each loss's two variants run interleaved through the real ``Trainer.run_step`` on synthetic CIFAR-shaped
data; the median is reported. Target (issue 4): RLKD adds ≤ 10 % to each loss's fixed-T step.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch

from benchmarks.common import interleaved_medians, make_trainer, median_ms, write_json
from rlkd.losses import LOSSES


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--out", default="benchmarks/results/losses.json")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for loss in LOSSES.names():
            common = ("model.teacher=resnet32x4", "model.student=resnet8x4", f"loss.name={loss}",
                      f"device={args.device}")
            _, fixed = make_trainer(Path(tmp), *common, "policy.name=fixed")
            _, rlkd = make_trainer(Path(tmp), *common, "policy.name=rlkd")
            times = interleaved_medians({"fixed": fixed, "rlkd": rlkd}, args.steps)
            f, r = median_ms(times["fixed"]), median_ms(times["rlkd"])
            rows.append({"loss": loss, "fixed_ms": f, "rlkd_ms": r, "overhead": r / f - 1})
            print(f"{loss:<6}{f:>10.1f}{r:>10.1f}{100 * (r / f - 1):>9.1f} %", flush=True)
    worst = max(row["overhead"] for row in rows)
    write_json(args.out, {"device": args.device, "threads": torch.get_num_threads(), "steps": args.steps,
                          "pair": "resnet32x4->resnet8x4", "batch": 64, "rows": rows, "target_overhead": 0.10,
                          "met": worst <= 0.10})
    print(f"worst RLKD overhead {100 * worst:.1f} % (target <= 10 %); JSON: {args.out}")


if __name__ == "__main__":
    print(f"{'loss':<6}{'fixed ms':>10}{'rlkd ms':>10}{'overhead':>11}")
    main()
