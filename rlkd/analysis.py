"""Per-instance temperatures of one epoch, kept for analysis plots (T against uncertainty and entropy rank).

A fixed, deterministic subset of the training set is kept (dataset indices that are multiples of a stride),
so memory stays bounded on any data set (at most ``max_points`` instances) and every epoch shows the same
instances. Mixed exploration instances are left out: they have no entropy rank of their own.
"""
from __future__ import annotations

import math

import torch

from rlkd.agent.state import instance_state


class TemperatureSample:
    def __init__(self, num_data: int, max_points: int = 4000) -> None:
        self.num_data = num_data
        self.stride = max(1, math.ceil(num_data / max_points))
        self._parts: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []

    def start_epoch(self) -> None:
        self._parts = []

    def add(self, index: torch.Tensor, temps: torch.Tensor, teacher_logits: torch.Tensor,
            student_logits: torch.Tensor) -> None:
        keep = (index < self.num_data) & (index % self.stride == 0)
        if self.stride == 1 and bool(keep.all()):
            keep = slice(None)  # type: ignore[assignment]
        uncertainty = instance_state(teacher_logits[keep], student_logits[keep], "paper")[:, 2]
        self._parts.append((index[keep].detach(), temps[keep].detach().float(), uncertainty))

    def arrays(self) -> dict[str, torch.Tensor]:
        """``index``, ``temperature``, ``uncertainty`` (1 − (p1 − p2) of the student at T = 1) on the CPU."""
        if not self._parts:
            empty = torch.empty(0)
            return {"index": empty.long(), "temperature": empty, "uncertainty": empty}
        index, temps, unc = (torch.cat(col).cpu() for col in zip(*self._parts))
        return {"index": index, "temperature": temps, "uncertainty": unc}


def entropy_rank(ranking: torch.Tensor) -> torch.Tensor:
    """Rank of every instance as a fraction of N (0 = highest mean entropy), from ``EntropyTracker.ranking()``."""
    n = len(ranking)
    rank = torch.empty(n, dtype=torch.float64)
    rank[ranking] = torch.arange(n, dtype=torch.float64) / max(n, 1)
    return rank
