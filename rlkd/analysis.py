"""Per-instance temperatures of one epoch, kept for analysis plots (T against uncertainty and entropy rank).

A step only appends what it already has (indices, T, the student's uncertainty), with no masking and so no
host sync in the training step; at the epoch's end a fixed, deterministic subset is returned (dataset indices
that are multiples of a stride, at most ``max_points`` instances), the same instances every epoch. Mixed
exploration instances are left out: they have no entropy rank of their own.
"""
from __future__ import annotations

import math

import torch

from rlkd.agent.state import student_uncertainty


class TemperatureSample:
    def __init__(self, num_data: int, max_points: int = 4000) -> None:
        self.num_data = num_data
        self.stride = max(1, math.ceil(num_data / max_points))
        self._parts: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []

    def start_epoch(self) -> None:
        self._parts = []

    def add(self, index: torch.Tensor, temps: torch.Tensor, student_logits: torch.Tensor) -> None:
        self._parts.append((index.detach(), temps.detach().float(), student_uncertainty(student_logits)))

    def arrays(self) -> dict[str, torch.Tensor]:
        """``index``, ``temperature``, ``uncertainty`` (1 − (p1 − p2) of the student at T = 1) on the CPU."""
        if not self._parts:
            empty = torch.empty(0)
            return {"index": empty.long(), "temperature": empty, "uncertainty": empty}
        index, temps, unc = (torch.cat(col).cpu() for col in zip(*self._parts))
        keep = (index < self.num_data) & (index % self.stride == 0)
        return {"index": index[keep], "temperature": temps[keep], "uncertainty": unc[keep]}


def entropy_rank(ranking: torch.Tensor) -> torch.Tensor:
    """Rank of every instance as a fraction of N (0 = highest mean entropy), from ``EntropyTracker.ranking()``."""
    n = len(ranking)
    rank = torch.empty(n, dtype=torch.float64)
    rank[ranking] = torch.arange(n, dtype=torch.float64) / max(n, 1)
    return rank
