"""The teacher: loaded from the user's weights file, or (quickstart only) trained here first and cached."""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from rlkd import distributed
from rlkd.checkpoint import save_atomic, seed_everything
from rlkd.config import RunConfig
from rlkd.models import build_model, load_teacher


def pretrain(name: str, num_classes: int, train: Dataset, cfg: RunConfig, device: torch.device) -> torch.nn.Module:
    """Plain CE training with the run's optimiser recipe and a cosine schedule; deterministic from the seed."""
    seed_everything(cfg.seed + 17)
    model = build_model(name, num_classes=num_classes).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.optim.lr, momentum=cfg.optim.momentum,
                          weight_decay=cfg.optim.weight_decay)
    epochs = cfg.model.teacher_pretrain_epochs
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    loader = DataLoader(train, batch_size=cfg.data.batch_size, shuffle=True, drop_last=True,
                        generator=torch.Generator().manual_seed(cfg.seed))
    model.train()
    for _ in range(epochs):
        for x, y, _ in loader:
            logits, _ = model(x.to(device))
            loss = F.cross_entropy(logits, y.to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        sched.step()
    return model.eval()


def prepare_teacher(cfg: RunConfig, train: Dataset, num_classes: int, device: torch.device) -> torch.nn.Module:
    if cfg.model.teacher_checkpoint:
        model = load_teacher(cfg.model.teacher, cfg.model.teacher_checkpoint, num_classes=num_classes)
    else:
        cache = Path(cfg.out_dir) / f"teacher-{cfg.model.teacher}-seed{cfg.seed}.pt"
        if distributed.rank() == 0 and not cache.exists():
            save_atomic(pretrain(cfg.model.teacher, num_classes, train, cfg, device).state_dict(), cache)
        distributed.barrier()
        model = load_teacher(cfg.model.teacher, str(cache), num_classes=num_classes)
    for p in model.parameters():
        p.requires_grad_(False)
    return model.to(device).eval()
