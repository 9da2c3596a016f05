"""Data-parallel plumbing in plain torch.distributed (a launcher such as Ray Train sets up the group).

With no process group every helper is the identity, so single-process runs pay nothing.
"""
from __future__ import annotations

from typing import Iterable

import torch
import torch.distributed as dist
from torch import nn


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def all_reduce_sum(tensor: torch.Tensor) -> None:
    """In-place sum over ranks (entropy records, metric sums, evaluation counts)."""
    if is_distributed():
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)


def average_gradients(params: Iterable[nn.Parameter]) -> None:
    """Average gradients over ranks in one flat all-reduce, so every rank takes the same optimiser step."""
    if not is_distributed():
        return
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat /= world_size()
    offset = 0
    for g in grads:
        g.copy_(flat[offset : offset + g.numel()].view_as(g))
        offset += g.numel()


def broadcast_module(module: nn.Module, src: int = 0) -> None:
    """Copy rank ``src``'s parameters and buffers to every rank (identical initial weights)."""
    if is_distributed():
        for tensor in list(module.parameters()) + list(module.buffers()):
            dist.broadcast(tensor.data, src=src)


def barrier() -> None:
    if is_distributed():
        dist.barrier()
