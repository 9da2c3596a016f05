"""The temperature-policy contract: one temperature per instance, every step.

A policy sees the batch's detached logits and labels and returns T ``[B]``. Policies whose T carries a
gradient (CTKD) hand their parameters to the student's optimiser through ``student_parameters``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from rlkd.metrics import Meter


@dataclass
class Step:
    """What a policy may look at for one training batch (all detached)."""

    teacher_logits: torch.Tensor
    student_logits: torch.Tensor
    target: torch.Tensor  # hard labels (the majority label of a mixed instance)
    epoch: int  # 1-indexed


class TemperaturePolicy(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.meter = Meter()

    def temperatures(self, step: Step) -> torch.Tensor:
        raise NotImplementedError

    def student_parameters(self) -> list[nn.Parameter]:
        """Parameters trained by the student's optimiser (none unless T is learned by gradient)."""
        return []

    def log_temperatures(self, temps: torch.Tensor) -> None:
        t = temps.detach()
        self.meter.add({"temp/mean": t.mean().item(), "temp/std": t.std(unbiased=False).item()})

    def epoch_diagnostics(self) -> dict[str, float]:
        """Per-epoch means of everything the policy logged; resets the meter."""
        return self.meter.reset()
