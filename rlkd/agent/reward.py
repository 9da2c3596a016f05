"""Batch reward pieces (spec 2.1): accuracy signal, warm-up factor and the official scale."""
from __future__ import annotations

import math

import torch

from rlkd.config import RewardScale


def warmup_factor(epoch: int, n: float) -> float:
    """w(E) = sigmoid(E / n): damps rewards while the student is still changing fast."""
    return 1.0 / (1.0 + math.exp(-epoch / n))


def official_scale(epoch: int) -> float:
    """The official code's piecewise cosine multiplier (``reward.scale=official``); e.g. 18.35 at E=20."""
    if epoch < 150:
        return 10.0 * (1.0 + (1.0 + math.cos(math.pi * epoch / 75.0)) / 2.0)
    if epoch < 210:
        return 5.0 * (1.0 + (1.0 + math.cos(math.pi * epoch / 30.0)) / 2.0)
    if epoch < 240:
        return 2.0 * (1.0 + (1.0 + math.cos(math.pi * epoch / 30.0)) / 2.0)
    return 1.0


def reward_factor(epoch: int, n: float, scale: RewardScale | str = RewardScale.paper) -> float:
    return official_scale(epoch) if scale == RewardScale.official else warmup_factor(epoch, n)


def batch_accuracy(logits: torch.Tensor, target: torch.Tensor) -> float:
    """Top-1 accuracy of one batch (the paper's signal)."""
    return (logits.argmax(dim=1) == target).float().mean().item()


def macro_accuracy(logits: torch.Tensor, target: torch.Tensor) -> float:
    """Accuracy averaged over the classes present in the batch (the official code's signal)."""
    correct = (logits.argmax(dim=1) == target).float()
    classes, inverse = target.unique(return_inverse=True)
    hits = torch.zeros(len(classes)).index_add_(0, inverse.cpu(), correct.cpu())
    counts = torch.zeros(len(classes)).index_add_(0, inverse.cpu(), torch.ones_like(correct).cpu())
    return (hits / counts).mean().item()
