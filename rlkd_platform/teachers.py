"""Teachers trained once per sweep (when the config names no teacher file), not once per trial.

The quickstart trains its teacher first. Done inside every trial that would be most of a small trial's time,
so the driver trains each distinct teacher once, caches it under the sweep folder (a resumed sweep reuses it)
and hands the weights to the trials through the object store. On a cluster it trains as a Ray task on the
workers (a GPU node, not the CPU head); with a local Ray, in the driver itself, which has torch imported
already (a task would pay a worker start and the imports, ~5 s). A trial whose teacher is not in the set
trains it itself, on every rank alike.
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
    if in_driver:
        out.update({key: pretrain_teacher(_threads(wanted[key], cpus)) for key in missing})
    elif missing:
        task = ray.remote(num_cpus=cpus, num_gpus=gpus, max_retries=1)(_pretrain_task)
        refs = {key: task.remote(to_dict(_threads(wanted[key], cpus))) for key in missing}
        out.update({key: ray.get(ref) for key, ref in refs.items()})
    for key in missing:
        tmp = cache_dir / f"{key}.pt.tmp"
        tmp.write_bytes(out[key])
        tmp.replace(cache_dir / f"{key}.pt")
    return out


def _threads(cfg: RunConfig, cpus: float) -> RunConfig:
    return cfg if cfg.threads else build_config([f"threads={max(1, int(cpus))}"], to_dict(cfg))
