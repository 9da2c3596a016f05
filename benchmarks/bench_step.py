"""Time per training step: fixed-T KD vs RLKD (agent update every batch) vs an official-style acting loop.

    .venv/bin/python -m benchmarks.bench_step [--steps 30] [--device cpu] [--out benchmarks/results/step.json]

resnet56 → resnet20, batch 64, the real ``Trainer.run_step`` on synthetic CIFAR-shaped data (data loading
is the same for all variants and excluded). The variants run interleaved (a, b, c, a, b, c, …) so machine
noise hits them alike; medians are reported. Peak memory: each variant also runs alone in a child process
(max RSS on CPU, ``max_memory_allocated`` on CUDA). Target (issue 3): (b) / (a) ≤ 1.10.
"""
from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from benchmarks.common import interleaved_medians, make_trainer, median_ms, write_json
from rlkd.agent import RLKDAgent

VARIANTS = {"a": ("fixed-T KD", "policy.name=fixed"), "b": ("RLKD, agent update every batch", "policy.name=rlkd"),
            "c": ("RLKD, per-instance acting loop", "policy.name=rlkd")}


def loop_acting(agent: RLKDAgent) -> None:
    """Replace batched acting by the official code's one actor + critic call per instance."""
    batched = agent.act

    def act(raw_states: torch.Tensor):
        rows = [batched(raw_states[i : i + 1]) for i in range(len(raw_states))]
        temps = torch.cat([t for t, _ in rows])
        record = {k: torch.cat([r[k] for _, r in rows]) for k in rows[0][1]}
        return temps, record

    agent.act = act  # type: ignore[method-assign]


def build(variant: str, tmp: Path, device: str):
    trainer, step = make_trainer(tmp, "model.teacher=resnet56", "model.student=resnet20", "loss.name=kd",
                                 VARIANTS[variant][1], f"device={device}")
    if variant == "c":
        loop_acting(trainer.policy.agent)
    return step


def peak_memory_mib(variant: str, device: str) -> float:
    out = subprocess.run([sys.executable, "-m", "benchmarks.bench_step", "--peak-only", variant, "--device", device],
                         capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--out", default="benchmarks/results/step.json")
    ap.add_argument("--peak-only", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.peak_only:
            step = build(args.peak_only, Path(tmp), args.device)
            for _ in range(10):
                step()
            cuda = args.device.startswith("cuda")
            print(torch.cuda.max_memory_allocated() / 2**20 if cuda
                  else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
            return
        times = interleaved_medians({v: build(v, Path(tmp), args.device) for v in VARIANTS}, args.steps)
    base = median_ms(times["a"])
    rows = [{"variant": v, "label": VARIANTS[v][0], "median_ms": median_ms(times[v]),
             "ratio_to_a": median_ms(times[v]) / base, "peak_mem_mib": peak_memory_mib(v, args.device)}
            for v in VARIANTS]
    result = {"device": args.device, "threads": torch.get_num_threads(), "steps": args.steps,
              "torch": torch.__version__, "rows": rows, "target_b_over_a": 1.10, "met": rows[1]["ratio_to_a"] <= 1.10}
    write_json(args.out, result)
    print(f"device={args.device} threads={result['threads']} steps={args.steps} (medians of interleaved steps)")
    print(f"{'variant':<38}{'median ms':>10}{'vs (a)':>8}{'peak MiB':>10}")
    for r in rows:
        print(f"({r['variant']}) {r['label']:<34}{r['median_ms']:>10.1f}{r['ratio_to_a']:>8.3f}"
              f"{r['peak_mem_mib']:>10.0f}")
    print(f"target (b)/(a) <= 1.10: {'met' if result['met'] else 'NOT met'}; JSON: {args.out}")


if __name__ == "__main__":
    main()
