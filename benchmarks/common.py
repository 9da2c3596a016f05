"""Shared benchmark plumbing: a real Trainer on synthetic CIFAR-shaped data, interleaved step timing, output."""
from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Callable

import torch

from rlkd.config import build_config
from rlkd.trainer import Trainer


def make_trainer(out_dir: Path, *overrides: str, batch: int = 64) -> tuple[Trainer, Callable[[], None]]:
    """A Trainer on synthetic data (no files needed) and a closure running one of its real training steps."""
    cfg = build_config([
        "data.name=synthetic", f"data.train_limit={batch}", "data.test_limit=8", f"data.batch_size={batch}",
        "model.teacher_pretrain_epochs=1", "agent.warmup_epochs=0", "resume=false", f"out_dir={out_dir}", *overrides,
    ])
    trainer = Trainer(cfg)
    items = [trainer.data.train[i] for i in range(batch)]
    x = torch.stack([it[0] for it in items])
    y = torch.tensor([it[1] for it in items])
    index = torch.tensor([it[2] for it in items])
    trainer.model.train()

    def step() -> None:
        trainer.run_step(x, y, index, epoch=1)
        if trainer.device.type == "cuda":
            torch.cuda.synchronize()

    return trainer, step


def interleaved_medians(steps: dict[str, Callable[[], None]], n: int, warmup: int = 3) -> dict[str, list[float]]:
    """Run the variants round-robin so machine noise hits all alike; per-variant step times in seconds."""
    times: dict[str, list[float]] = {k: [] for k in steps}
    for i in range(warmup + n):
        for key, step in steps.items():
            start = time.perf_counter()
            step()
            if i >= warmup:
                times[key].append(time.perf_counter() - start)
    return times


def median_ms(samples: list[float]) -> float:
    return 1000 * statistics.median(samples)


def write_json(path: str, result: dict) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(result, indent=2))
