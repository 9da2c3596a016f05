"""Efficient exploration (spec 5): mix high-entropy instances into the agent's early training.

Every training instance keeps a running mean of the student's prediction entropy. At the start of an
exploration epoch the instances are ranked by it (descending); the j-th instance of the high-entropy
window is mixed with the j-th of the partner window, x̃ = λ·x_hi + (1 − λ)·x_partner, and the mixed set is
appended to that epoch's training data. A mixed instance has dataset index N + j, which is how the trainer
finds its partner label and CE weight in the ``ExplorationPlan``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn
from torch.utils.data import Dataset

from rlkd.config import ExplorationConfig, ExplorationSchedule, LamSchedule, MixTarget

OFFICIAL_PERIOD = 20  # the official code re-ranks and mixes every 20 epochs, from epoch 40 on


def prediction_entropy(logits: torch.Tensor) -> torch.Tensor:
    """H_i = −Σ_c p_c log p_c at T = 1, probabilities clamped away from 0."""
    p = logits.detach().float().softmax(dim=1).clamp_min(1e-12)
    return -(p * p.log()).sum(dim=1)


class EntropyTracker(nn.Module):
    """Running mean of each instance's prediction entropy, indexed by dataset position.

    Updates of the current epoch are kept apart until ``end_epoch`` so data-parallel ranks can sum them
    once (each instance is seen by exactly one rank per epoch).
    """

    total: torch.Tensor
    count: torch.Tensor
    epoch_total: torch.Tensor
    epoch_count: torch.Tensor

    def __init__(self, num_data: int) -> None:
        super().__init__()
        self.register_buffer("total", torch.zeros(num_data, dtype=torch.float64))
        self.register_buffer("count", torch.zeros(num_data, dtype=torch.float64))
        self.register_buffer("epoch_total", torch.zeros(num_data, dtype=torch.float64))
        self.register_buffer("epoch_count", torch.zeros(num_data, dtype=torch.float64))

    def update(self, index: torch.Tensor, logits: torch.Tensor) -> None:
        index = index.to(self.total.device)
        self.epoch_total.index_add_(0, index, prediction_entropy(logits).to(self.total))
        self.epoch_count.index_add_(0, index, torch.ones_like(index, dtype=self.total.dtype))

    def end_epoch(self, all_reduce_sum: Callable[[torch.Tensor], None] | None = None) -> None:
        if all_reduce_sum is not None:
            all_reduce_sum(self.epoch_total)
            all_reduce_sum(self.epoch_count)
        self.total += self.epoch_total
        self.count += self.epoch_count
        self.epoch_total.zero_()
        self.epoch_count.zero_()

    def mean(self) -> torch.Tensor:
        """Mean entropy per instance; −inf for instances never seen (they rank last)."""
        never_seen = torch.tensor(float("-inf"), dtype=self.total.dtype, device=self.total.device)
        return torch.where(self.count > 0, self.total / self.count.clamp_min(1), never_seen)

    def ranking(self) -> torch.Tensor:
        """Dataset indices by mean entropy, highest first (ties broken by index: deterministic)."""
        return torch.sort(self.mean().cpu(), descending=True, stable=True).indices


def window(ranking: torch.Tensor, start: float, width: float) -> torch.Tensor:
    """The instances at ranks [start, start + width) of ``ranking`` (fractions of N)."""
    n = len(ranking)
    return ranking[int(round(start * n)) : int(round((start + width) * n))]


@dataclass
class ExplorationPlan:
    """Pairs for one exploration epoch: mixed instance j = pixel_lam[j]·x[hi[j]] + (1 − pixel_lam[j])·x[partner[j]].

    label_lam[j] is the CE weight of hi[j]'s label (the rest goes to partner[j]'s): λ in the paper,
    0 in the official code, which keeps the partner's own label.
    """

    hi: torch.Tensor
    partner: torch.Tensor
    partner_label: torch.Tensor
    pixel_lam: torch.Tensor
    label_lam: torch.Tensor
    num_data: int

    def __len__(self) -> int:
        return len(self.hi)


def build_plan(ranking: torch.Tensor, labels: torch.Tensor, cfg: ExplorationConfig) -> ExplorationPlan:
    """Pair the j-th instances of the two windows; ``labels`` are the training set's targets [N]."""
    hi = window(ranking, cfg.high_start, cfg.width)
    partner = window(ranking, cfg.partner_start, cfg.width)
    m = min(len(hi), len(partner))
    hi, partner = hi[:m], partner[:m]
    if cfg.lam_schedule == LamSchedule.official:  # λ_j runs linearly from 1.0 (highest rank) down to λ
        pixel_lam = torch.linspace(1.0, cfg.lam, m) if m > 1 else torch.full((m,), cfg.lam)
    else:
        pixel_lam = torch.full((m,), cfg.lam)
    label_lam = torch.zeros(m) if cfg.target == MixTarget.official else pixel_lam.clone()
    return ExplorationPlan(hi, partner, labels[partner], pixel_lam, label_lam, len(ranking))


def exploration_active(epoch: int, warmup_epochs: int, cfg: ExplorationConfig) -> bool:
    """Paper: the first e_w epochs after warm-up, E ∈ [e_w, 2·e_w). Official: E = 40, 60, …"""
    if not cfg.enabled:
        return False
    if cfg.schedule == ExplorationSchedule.official:
        return epoch >= 2 * OFFICIAL_PERIOD and epoch % OFFICIAL_PERIOD == 0
    return warmup_epochs <= epoch < 2 * warmup_epochs


class MixedDataset(Dataset):
    """The plan's mixed instances, built from the (augmented) training set on access."""

    def __init__(self, base: Dataset, plan: ExplorationPlan) -> None:
        self.base, self.plan = base, plan

    def __len__(self) -> int:
        return len(self.plan)

    def __getitem__(self, j: int) -> tuple[torch.Tensor, int, int]:
        x_hi, y_hi, _ = self.base[int(self.plan.hi[j])]
        x_partner, _, _ = self.base[int(self.plan.partner[j])]
        lam = float(self.plan.pixel_lam[j])
        return lam * x_hi + (1.0 - lam) * x_partner, y_hi, self.plan.num_data + j


@dataclass
class BatchTargets:
    """Per-instance CE targets of a batch that may hold mixed instances."""

    first: torch.Tensor  # label weighted by lam (the instance's own / the high-entropy one)
    second: torch.Tensor  # label weighted by 1 − lam (itself for clean instances)
    lam: torch.Tensor  # [B] CE weight of ``first``
    major: torch.Tensor  # the dominant label: used for accuracy, the reward and label-aware KD losses
    loss_index: torch.Tensor  # dataset index for index-aware losses (CRD): hi[j] for mixed instance j
    clean: torch.Tensor  # [B] bool, instances of the original training set


def batch_targets(target: torch.Tensor, index: torch.Tensor, plan: ExplorationPlan | None) -> BatchTargets:
    clean = index < (plan.num_data if plan is not None else torch.iinfo(index.dtype).max)
    lam = torch.ones(len(target), device=target.device)
    second, loss_index = target.clone(), index.clone()
    if plan is not None and not bool(clean.all()):
        j = (index[~clean] - plan.num_data).cpu()
        second[~clean] = plan.partner_label[j].to(target.device)
        lam[~clean] = plan.label_lam[j].to(lam)
        loss_index[~clean] = plan.hi[j].to(index.device)
    major = torch.where(lam >= 0.5, target, second)
    return BatchTargets(target, second, lam, major, loss_index, clean)

