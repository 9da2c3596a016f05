"""The contract every KD loss keeps: a per-instance temperature ``[B]`` in, per-instance losses ``[B]`` out.

Why per instance: RLKD sets one temperature per training instance and its reward calibration credits
instances separately, so no loss may reduce over the batch. The trainer mixes the result with CE using the
loss's recipe weights (``weights``): ``total = ce·mean(CE_i) + kd·warmup(E)·mean(loss_i)``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from rlkd.errors import RLKDError
from rlkd.models.base import Features


@dataclass(frozen=True)
class LossWeights:
    """Recipe weights of one KD framework (spec section 3).

    ce: weight of the cross-entropy term; kd: weight of the summed distillation terms;
    warmup_epochs: the distillation term is scaled by min(E / warmup_epochs, 1) (DKD uses 20; 0 = off).
    """

    ce: float
    kd: float
    warmup_epochs: int = 0

    def kd_factor(self, epoch: int) -> float:
        return 1.0 if self.warmup_epochs <= 0 else min(epoch / self.warmup_epochs, 1.0)


@dataclass
class LossContext:
    """What feature losses need to build their auxiliary modules; logit losses ignore it.

    student/teacher: the two models (shapes are probed with ``example_input``); num_data: training-set size
    (CRD's memory bank is indexed by the dataset index).
    """

    student: nn.Module
    teacher: nn.Module
    example_input: torch.Tensor
    num_data: int


def check_temperature(temperature: torch.Tensor, logits: torch.Tensor) -> None:
    """Reject a temperature that is not one positive value per instance (a scalar T is a common slip)."""
    if temperature.dim() != 1 or temperature.shape[0] != logits.shape[0]:
        raise RLKDError(
            f"temperature must have shape [B]=[{logits.shape[0]}], got {list(temperature.shape)}; "
            "pass one temperature per instance, e.g. torch.full((B,), 4.0)"
        )


class DistillLoss(nn.Module):
    """Base class. Subclasses implement ``terms`` and set ``weights`` (their framework's recipe)."""

    weights: LossWeights = LossWeights(ce=0.1, kd=0.9)
    needs_features: bool = False

    def terms(
        self,
        student_logits: torch.Tensor,
        teacher_logits: torch.Tensor,
        target: torch.Tensor,
        temperature: torch.Tensor,
        *,
        student_feats: Features | None = None,
        teacher_feats: Features | None = None,
        index: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """Named per-instance terms, each ``[B]`` and already scaled by its own β; they sum to ``forward``."""
        raise NotImplementedError

    def forward(
        self,
        student_logits: torch.Tensor,
        teacher_logits: torch.Tensor,
        target: torch.Tensor,
        temperature: torch.Tensor,
        **extra: Any,  # passed on to ``terms``, whose keyword arguments differ between subclasses
    ) -> torch.Tensor:
        check_temperature(temperature, student_logits)
        terms = self.terms(student_logits, teacher_logits, target, temperature, **extra)
        return torch.stack(list(terms.values())).sum(0)
