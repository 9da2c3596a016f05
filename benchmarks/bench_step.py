"""Time per training step: fixed-T KD vs RLKD (agent update every batch) vs an official-style acting loop.

    .venv/bin/python benchmarks/bench_step.py [--steps 30] [--device cpu] [--out benchmarks/results/step.json]

resnet56 → resnet20, batch 64, CIFAR-shaped inputs. The three variants run interleaved (a, b, c, a, b, c, …)
in one process so machine noise hits them alike; the median step time is reported. Peak memory: each
variant also runs alone in a child process (max RSS on CPU, ``max_memory_allocated`` on CUDA).
Target (issue 3): (b) / (a) ≤ 1.10.
"""
from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from rlkd.agent import instance_state, temperature
from rlkd.config import build_config
from rlkd.losses import build_loss
from rlkd.models import build_model
from rlkd.policies import Step, build_policy

VARIANTS = {"a": "fixed-T KD", "b": "RLKD, agent update every batch", "c": "RLKD, per-instance acting loop"}


class StepRunner:
    """One variant's full training step on a fixed batch (data loading excluded: it is the same for all)."""

    def __init__(self, variant: str, device: torch.device, batch: int = 64, seed: int = 0) -> None:
        torch.manual_seed(seed)
        self.variant, self.device = variant, device
        self.teacher = build_model("resnet56", num_classes=100).to(device).eval()
        self.student = build_model("resnet20", num_classes=100).to(device).train()
        self.loss = build_loss("kd")
        self.opt = torch.optim.SGD(self.student.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
        cfg = build_config(["agent.warmup_epochs=0", f"policy.name={'fixed' if variant == 'a' else 'rlkd'}"])
        self.policy = build_policy(cfg, 100).to(device)
        self.x = torch.randn(batch, 3, 32, 32, device=device)
        self.y = torch.randint(0, 100, (batch,), device=device)

    def temperatures(self, zt: torch.Tensor, zs: torch.Tensor) -> torch.Tensor:
        step = Step(zt.detach(), zs.detach(), self.y, epoch=1)
        if self.variant != "c":
            return self.policy.temperatures(step)
        # The official code's acting: one actor (and critic) call per instance, in a Python loop.
        agent = self.policy.agent
        temps = []
        with torch.no_grad():
            states = agent.calibrator.transform_state(instance_state(zt, zs))
            for i in range(len(states)):
                dist = agent.actor.distribution(states[i : i + 1])
                action = dist.sample()
                agent.critic(states[i : i + 1])
                temps.append(temperature(action))
        self.policy.temperatures(step)  # the same reward, calibration and PPO update as (b)
        return torch.cat(temps)

    def step(self) -> None:
        with torch.no_grad():
            zt, _ = self.teacher(self.x)
        zs, _ = self.student(self.x)
        temps = self.temperatures(zt, zs)
        loss = 0.1 * F.cross_entropy(zs, self.y) + 0.9 * self.loss(zs, zt, self.y, temps).mean()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        if self.device.type == "cuda":
            torch.cuda.synchronize()


def peak_memory(variant: str, device: str, steps: int) -> float:
    """Run one variant alone in a child process; its peak memory in MiB."""
    out = subprocess.run([sys.executable, __file__, "--peak-only", variant, "--device", device, "--steps", str(steps)],
                         capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--out", default="benchmarks/results/step.json")
    ap.add_argument("--peak-only", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    device = torch.device(args.device)

    if args.peak_only:
        runner = StepRunner(args.peak_only, device)
        for _ in range(max(3, args.steps // 5)):
            runner.step()
        if device.type == "cuda":
            print(torch.cuda.max_memory_allocated() / 2**20)
        else:
            print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        return

    runners = {v: StepRunner(v, device) for v in VARIANTS}
    times: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for i in range(args.warmup + args.steps):
        for v, runner in runners.items():
            start = time.perf_counter()
            runner.step()
            if i >= args.warmup:
                times[v].append(time.perf_counter() - start)
    base = statistics.median(times["a"])
    rows = []
    for v, label in VARIANTS.items():
        med = statistics.median(times[v])
        rows.append({"variant": v, "label": label, "median_ms": 1000 * med, "p90_ms": 1000 * sorted(times[v])[int(0.9 * len(times[v])) - 1],
                     "ratio_to_a": med / base, "peak_mem_mib": peak_memory(v, args.device, args.steps)})
    result = {"device": str(device), "threads": torch.get_num_threads(), "steps": args.steps, "torch": torch.__version__,
              "machine": platform.processor() or platform.machine(), "rows": rows,
              "target_b_over_a": 1.10, "met": rows[1]["ratio_to_a"] <= 1.10}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(f"device={device} threads={result['threads']} steps={args.steps} (median of interleaved steps)")
    print(f"{'variant':<36}{'median ms':>10}{'p90 ms':>9}{'vs (a)':>8}{'peak MiB':>10}")
    for r in rows:
        print(f"({r['variant']}) {r['label']:<32}{r['median_ms']:>10.1f}{r['p90_ms']:>9.1f}{r['ratio_to_a']:>8.3f}{r['peak_mem_mib']:>10.0f}")
    print(f"target (b)/(a) <= 1.10: {'met' if result['met'] else 'NOT met'}; JSON: {args.out}")


if __name__ == "__main__":
    main()
