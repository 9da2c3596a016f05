"""The files of one reported checkpoint: the Trainer's ``last.pt`` plus, data-parallel, one small shard per rank.

``last.pt`` is written by rank 0 and holds the whole run (student, agent, optimisers, RNG, epoch, MLflow run
id in ``extra``). What it cannot hold is what differs between ranks: each rank's RNG streams (augmentation),
the agent's per-rank sampling generator and the batch awaiting its reward (``RLKDPolicy.pending``). Loading
rank 0's copies on every rank would make a resumed run differ from an uninterrupted one, so every rank adds
``rank<r>.pt`` to the same checkpoint (Ray Train merges the ranks' files into one directory) and takes its own
back on restore. With these, a run killed and resumed ends with exactly the metrics of one never interrupted.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch

from rlkd.checkpoint import load, rng_state, set_rng_state

LAST = "last.pt"


def rank_file(rank: int) -> str:
    return f"rank{rank}.pt"


def capture_rank_state(trainer: Any) -> dict[str, Any]:
    """Taken first thing after an epoch, before anything else could draw random numbers."""
    return {"epoch": trainer.epoch, "rng": rng_state(), "policy": trainer.policy.state_dict(),
            "loss": trainer.loss.state_dict()}


def write_checkpoint_dir(trainer: Any, rank: int, world: int, rank_state: dict[str, Any] | None,
                         parent: Path) -> Path:
    """A fresh directory holding this rank's part of the epoch's checkpoint (reported, then deleted)."""
    directory = Path(tempfile.mkdtemp(prefix="ckpt-", dir=parent))
    if rank == 0:
        source = Path(trainer.out_dir) / LAST
        try:
            os.link(source, directory / LAST)  # same filesystem: no copy; last.pt is replaced, never rewritten
        except OSError:
            shutil.copy2(source, directory / LAST)
    if world > 1 and rank_state is not None:
        torch.save(rank_state, directory / rank_file(rank))
    return directory


def restore_files(checkpoint: Any, out_dir: Path, rank: int) -> dict[str, Any] | None:
    """Put the checkpoint's ``last.pt`` where the Trainer resumes from; return this rank's shard, if any."""
    if checkpoint is None:
        return None
    out_dir.mkdir(parents=True, exist_ok=True)
    with checkpoint.as_directory() as directory:
        shutil.copy2(Path(directory) / LAST, out_dir / LAST)
        shard = Path(directory) / rank_file(rank)
        return load(shard) if shard.exists() else None


def apply_rank_state(trainer: Any, shard: dict[str, Any] | None) -> None:
    """After the Trainer loaded rank 0's ``last.pt``: this rank's own policy, loss and RNG state."""
    if shard is None:
        return
    if shard["epoch"] != trainer.epoch:
        raise RuntimeError(f"rank shard is from epoch {shard['epoch']}, last.pt from epoch {trainer.epoch}")
    trainer.policy.load_state_dict(shard["policy"])
    trainer.loss.load_state_dict(shard["loss"])
    set_rng_state(shard["rng"])
