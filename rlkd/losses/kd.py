"""Vanilla KD (Hinton et al. 2015) with one temperature per instance.

L_i = T_i² · KL( softmax(z_t,i / T_i) ‖ softmax(z_s,i / T_i) ), summed over classes. The T² factor keeps the
gradient magnitude comparable across temperatures. Recipe (RepDistiller / CTKD): 0.1·CE + 0.9·mean_i L_i.
The feature frameworks reuse ``kd_per_instance`` for their standard KD term.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from rlkd.losses import LOSSES
from rlkd.losses.base import DistillLoss, LossContext, LossWeights


def kl_rows(log_p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """KL(p ‖ q) per row from log-probabilities ``[B, K]`` → ``[B]`` (0·log 0 counts as 0)."""
    return (log_p.exp() * (log_p - log_q)).sum(1)


def kd_per_instance(
    student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: torch.Tensor
) -> torch.Tensor:
    """T_i² · KL(softmax(z_t,i/T_i) ‖ softmax(z_s,i/T_i)) → ``[B]``; differentiable in z_s and in T."""
    t = temperature.unsqueeze(1)  # [B, 1]: each row is divided by its own temperature
    log_p_s = F.log_softmax(student_logits / t, dim=1)
    log_p_t = F.log_softmax(teacher_logits.detach() / t, dim=1)
    return temperature.pow(2) * kl_rows(log_p_t, log_p_s)


@LOSSES.register("kd")
class KDLoss(DistillLoss):
    """Hinton KD; one term ``kd``. No params."""

    weights = LossWeights(ce=0.1, kd=0.9)

    def __init__(self, context: LossContext | None = None) -> None:
        super().__init__()

    def terms(
        self,
        student_logits: torch.Tensor,
        teacher_logits: torch.Tensor,
        target: torch.Tensor,
        temperature: torch.Tensor,
        **unused: object,
    ) -> dict[str, torch.Tensor]:
        return {"kd": kd_per_instance(student_logits, teacher_logits, temperature)}
