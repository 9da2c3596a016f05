"""Running means of scalar diagnostics, reset once per epoch."""
from __future__ import annotations

import math
from collections import defaultdict


class Meter:
    """Accumulates ``{name: float}`` dicts (NaNs skipped) and reports per-name means."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = defaultdict(float)
        self.counts: dict[str, int] = defaultdict(int)

    def add(self, values: dict[str, float], weight: int = 1) -> None:
        for key, value in values.items():
            if not math.isnan(value):
                self.sums[key] += value * weight
                self.counts[key] += weight

    def summary(self) -> dict[str, float]:
        return {key: self.sums[key] / self.counts[key] for key in self.sums if self.counts[key]}

    def reset(self) -> dict[str, float]:
        out = self.summary()
        self.sums.clear()
        self.counts.clear()
        return out
