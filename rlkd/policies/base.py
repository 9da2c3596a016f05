"""The temperature-policy contract: one temperature per instance, every step, and what the policy needs.

A policy sees the batch's detached logits and labels and returns T ``[B]``. The trainer never asks a policy's
name; it asks the policy:

- ``per_instance``: T can differ between the instances of a batch, so the per-instance T of an epoch is worth
  keeping for the analysis plots (``TemperatureSample``); a fixed or one global T has nothing to show there.
- ``uses_exploration``: the epoch's data gets the mixed high-entropy instances of efficient exploration (spec 5).
- ``student_parameters()``: parameters trained by the student's optimiser (T learned by gradient, CTKD); the
  trainer averages their gradients over data-parallel ranks with the student's.
- ``set_grad_sync(fn)``: modules the policy trains with its own optimisers get ``fn`` (average gradients over
  ranks) to call before each of their steps, so every rank keeps one policy.
- ``state_dict()`` (``get_extra_state`` included): everything a bit-identical resume needs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, ClassVar, Iterable

import torch
from torch import nn

from rlkd.metrics import Meter

GradSync = Callable[[Iterable[nn.Parameter]], None]


@dataclass
class Step:
    """What a policy may look at for one training batch (all detached)."""

    teacher_logits: torch.Tensor
    student_logits: torch.Tensor
    target: torch.Tensor  # hard labels (the majority label of a mixed instance)
    epoch: int  # 1-indexed


class TemperaturePolicy(nn.Module):
    per_instance: ClassVar[bool] = True  # False: one T for the whole batch (fixed, global CTKD)
    uses_exploration: ClassVar[bool] = False  # True: exploration epochs mix high-entropy instances in (RLKD)

    def __init__(self) -> None:
        super().__init__()
        self.meter = Meter()
        # Σ over the epoch's steps of (mean T, std T) as float64 on T's device: read once, in epoch_diagnostics.
        self._temp_sums: torch.Tensor | None = None
        self._temp_steps = 0
        # T [B] of the last batch where the policy chose T per instance (RLKD after warm-up), else None;
        # rlkd_platform logs its quantiles.
        self.last_temperatures: torch.Tensor | None = None

    def temperatures(self, step: Step) -> torch.Tensor:
        raise NotImplementedError

    def student_parameters(self) -> list[nn.Parameter]:
        """Parameters trained by the student's optimiser (none unless T is learned by gradient)."""
        return []

    def set_grad_sync(self, sync: GradSync | None) -> None:
        """Data-parallel: ``sync`` averages gradients over ranks; call it before every step of own optimisers."""

    def log_temperatures(self, temps: torch.Tensor) -> None:
        """Add this step's mean and std of T to the epoch's sums, on the device (no host sync)."""
        t = temps.detach()
        stats = torch.stack([t.mean(), t.std(unbiased=False)]).double()
        self._temp_sums = stats if self._temp_sums is None else self._temp_sums + stats
        self._temp_steps += 1

    def epoch_diagnostics(self) -> dict[str, float]:
        """Per-epoch means of everything the policy logged (``temp/mean``, ``temp/std``, …); resets them."""
        out = self.meter.reset()
        if self._temp_sums is not None:
            mean, std = (self._temp_sums / self._temp_steps).tolist()
            out.update({"temp/mean": mean, "temp/std": std})
        self._temp_sums, self._temp_steps = None, 0
        return out
