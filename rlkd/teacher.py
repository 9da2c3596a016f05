"""The teacher: loaded from the user's weights file, or (quickstart only) trained here first and cached."""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch.optim.swa_utils import update_bn
from torch.utils.data import DataLoader, Dataset

from rlkd import distributed
from rlkd.checkpoint import save_atomic, seed_everything
from rlkd.config import RunConfig
from rlkd.models import ZooModel, build_model, load_teacher


def pretrain(name: str, num_classes: int, train: Dataset, cfg: RunConfig, device: torch.device,
             in_channels: int | None = None) -> ZooModel:
    """Plain CE training with the run's optimiser recipe and a cosine schedule; deterministic from the seed.

    BatchNorm statistics are then recomputed over the training set (``update_bn``): after a short training the
    running averages lag the weights, and a deep teacher in eval mode would emit huge features (VID's loss on a
    1-epoch ResNet-110 reached 1e15) where its train-mode outputs were fine.
    """
    seed_everything(cfg.seed + 17)
    model = build_model(name, num_classes=num_classes, in_channels=in_channels).to(device)
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
    with torch.no_grad():
        update_bn(loader, model, device)
    return model.eval()


def prepare_teacher(cfg: RunConfig, train: Dataset, num_classes: int, device: torch.device,
                    in_channels: int | None = None) -> torch.nn.Module:
    path = cfg.model.teacher_checkpoint_path()
    if path:
        model = load_teacher(cfg.model.teacher, path, num_classes=num_classes, in_channels=in_channels)
    else:
        cache = Path(cfg.out_dir) / f"teacher-{cfg.model.teacher}-seed{cfg.seed}.pt"
        if distributed.rank() == 0 and not cache.exists():
            model = pretrain(cfg.model.teacher, num_classes, train, cfg, device, in_channels)
            save_atomic(model.state_dict(), cache)
        distributed.barrier()
        model = load_teacher(cfg.model.teacher, str(cache), num_classes=num_classes, in_channels=in_channels)
    for p in model.parameters():
        p.requires_grad_(False)
    return model.to(device).eval()
