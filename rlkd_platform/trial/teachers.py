"""Teachers trained once per sweep (when the config names no teacher file), not once per trial.

The quickstart trains its teacher first. Done inside every trial that would be most of a small trial's time,
so the driver trains each distinct teacher once, caches it under the sweep folder (a resumed sweep reuses it)
and hands the weights to the trials through the object store. On a cluster it trains as a Ray task on the
workers (a GPU node, not the CPU head). With a local Ray and one teacher to train, in the driver itself, which
has torch imported already (a task would pay a worker start and the imports, ~5 s); several teachers (a table
whose rows change the teacher) train as parallel tasks there too. Each teacher is cached the moment it is done,
so an interrupted sweep keeps the finished ones. A trial whose teacher is not in the set trains it itself, on
every rank alike.
"""
from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

from rlkd.config import RunConfig, build_config, to_dict


def teacher_key(cfg: RunConfig) -> str:
    """Everything ``rlkd.teacher.pretrain`` reads, hashed: trials that agree on it share one teacher."""
    what = {"data": to_dict(cfg)["data"], "teacher": cfg.model.teacher, "epochs": cfg.model.teacher_pretrain_epochs,
            "seed": cfg.seed, "lr": cfg.optim.lr, "momentum": cfg.optim.momentum, "wd": cfg.optim.weight_decay,
            "device": cfg.device}
    return hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()[:16]


def pretrain_teacher(cfg: RunConfig) -> bytes:
    """The teacher exactly as ``rlkd.Trainer`` would train it (same seeding), as state-dict bytes."""
    import torch

    from rlkd.checkpoint import seed_everything
    from rlkd.data import build_datasets
    from rlkd.teacher import pretrain
    from rlkd.trainer import resolve_device

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    seed_everything(cfg.seed)
    d = cfg.data
    data = build_datasets(d.name, d.root, download=d.download, train_limit=d.train_limit,
                          test_limit=d.test_limit, augment=d.augment)
    model = pretrain(cfg.model.teacher, data.num_classes, data.train, cfg, resolve_device(cfg.device),
                     data.input_shape[0])
    buffer = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, buffer)
    return buffer.getvalue()


def _pretrain_task(cfg_dict: dict[str, Any]) -> bytes:
    return pretrain_teacher(build_config([], cfg_dict))


def prepare_teachers(configs: list[RunConfig], cache_dir: Path, cpus: float, gpus: float,
                     in_driver: bool) -> dict[str, bytes]:
    """Weights of every distinct teacher ``configs`` need (none when a config names its teacher file)."""
    import ray

    wanted = {teacher_key(c): c for c in configs if not c.model.teacher_checkpoint}
    cache_dir.mkdir(parents=True, exist_ok=True)
    out = {key: (cache_dir / f"{key}.pt").read_bytes() for key in wanted if (cache_dir / f"{key}.pt").exists()}
    missing = [key for key in wanted if key not in out]
    if in_driver and len(missing) == 1:
        out[missing[0]] = pretrain_teacher(_threads(wanted[missing[0]], cpus))
        _cache(cache_dir, missing[0], out[missing[0]])
    elif missing:
        task = ray.remote(num_cpus=cpus, num_gpus=gpus, max_retries=1)(_pretrain_task)
        pending = {task.remote(to_dict(_threads(wanted[key], cpus))): key for key in missing}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            key = pending.pop(done[0])
            out[key] = ray.get(done[0])
            _cache(cache_dir, key, out[key])
    return out


def _cache(cache_dir: Path, key: str, weights: bytes) -> None:
    tmp = cache_dir / f"{key}.pt.tmp"
    tmp.write_bytes(weights)
    tmp.replace(cache_dir / f"{key}.pt")


def _threads(cfg: RunConfig, cpus: float) -> RunConfig:
    return cfg if cfg.threads else build_config([f"threads={max(1, int(cpus))}"], to_dict(cfg))
