"""Per-epoch metrics: running means of host-side diagnostics, and named device-side sums of the training step."""
from __future__ import annotations

import math
from collections import defaultdict
from typing import Callable, Mapping

import torch


class Meter:
    """Accumulates ``{name: float}`` dicts (NaNs skipped) and reports per-name means."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = defaultdict(float)
        self.counts: dict[str, int] = defaultdict(int)

    def add(self, values: dict[str, float]) -> None:
        for key, value in values.items():
            if not math.isnan(value):
                self.sums[key] += value
                self.counts[key] += 1

    def summary(self) -> dict[str, float]:
        return {key: self.sums[key] / self.counts[key] for key in self.sums if self.counts[key]}

    def reset(self) -> dict[str, float]:
        out = self.summary()
        self.sums.clear()
        self.counts.clear()
        return out


class EpochSums:
    """Named sums over an epoch's steps, kept on the device as one float64 vector.

    A step adds scalar tensors by name (one stack and one add: no host sync); the epoch ends with one all-reduce
    of the whole vector. The first step fixes the names and their order, the same on every rank, and every later
    step must add the same names.
    """

    def __init__(self) -> None:
        self.names: tuple[str, ...] = ()
        self.total: torch.Tensor | None = None

    def add(self, values: Mapping[str, torch.Tensor]) -> None:
        if self.total is None:
            self.names = tuple(values)
            self.total = torch.zeros(len(self.names), dtype=torch.float64, device=values[self.names[0]].device)
        elif tuple(values) != self.names:
            raise ValueError(f"EpochSums.add: got {list(values)}, expected the first step's {list(self.names)}")
        self.total += torch.stack([values[n] for n in self.names]).double()

    def reduce(self, all_reduce_sum: Callable[[torch.Tensor], None]) -> dict[str, torch.Tensor]:
        """The sums over every rank, by name (empty when no step ran)."""
        if self.total is None:
            return {}
        all_reduce_sum(self.total)
        return dict(zip(self.names, self.total))
