"""Decoupled KD (Zhao et al., CVPR 2022) with one temperature per instance.

With p = softmax(z / T_i) and g the target class:
- TCKD_i = KL( [p_t,g, 1 − p_t,g] ‖ [p_s,g, 1 − p_s,g] )  (target vs. all non-target classes, binary)
- NCKD_i = KL( p̂_t ‖ p̂_s ), p̂ = softmax over the K − 1 non-target logits (the target removed)
Terms: ``tckd`` = α·T_i²·TCKD_i, ``nckd`` = β·T_i²·NCKD_i. Recipe (mdistiller): CE + min(E/20, 1)·(tckd + nckd).

Every per-instance factor is a ``[B]`` vector multiplied into a ``[B]`` vector: the official code's
``[B]·[B, 1] → [B, B]`` broadcast of T² cannot happen here (spec section 8). Both distributions are
computed with log-sum-exp from the logits (no log of a probability), so they stay finite at small T.
"""
from __future__ import annotations

import torch

from rlkd.errors import RLKDError
from rlkd.losses import LOSSES
from rlkd.losses.base import DistillLoss, LossContext, LossWeights
from rlkd.losses.kd import kl_rows


def binary_log_probs(logits: torch.Tensor, target_mask: torch.Tensor) -> torch.Tensor:
    """log [p_g, 1 − p_g] per row ``[B, 2]``: the target class vs. the mass of all other classes."""
    log_z = logits.logsumexp(1)
    target = (logits * target_mask).sum(1)
    others = logits.masked_fill(target_mask, float("-inf")).logsumexp(1)
    return torch.stack([target - log_z, others - log_z], dim=1)


def non_target_log_probs(logits: torch.Tensor, target_mask: torch.Tensor) -> torch.Tensor:
    """log softmax over the K − 1 non-target logits of each row ``[B, K − 1]`` (row order is kept)."""
    others = logits[~target_mask].view(logits.shape[0], logits.shape[1] - 1)
    return others.log_softmax(1)


def dkd_parts(
    student_logits: torch.Tensor, teacher_logits: torch.Tensor, target: torch.Tensor, temperature: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(T_i²·TCKD_i, T_i²·NCKD_i), each ``[B]``."""
    t = temperature.unsqueeze(1)  # [B, 1]
    z_s, z_t = student_logits / t, teacher_logits.detach() / t
    mask = torch.zeros_like(z_s, dtype=torch.bool).scatter_(1, target.long().unsqueeze(1), True)
    t2 = temperature.pow(2)  # [B]
    tckd = kl_rows(binary_log_probs(z_t, mask), binary_log_probs(z_s, mask))
    nckd = kl_rows(non_target_log_probs(z_t, mask), non_target_log_probs(z_s, mask))
    return t2 * tckd, t2 * nckd


@LOSSES.register("dkd")
class DKDLoss(DistillLoss):
    """DKD; terms ``tckd`` and ``nckd``. Params: alpha (TCKD weight, 1), beta (NCKD weight, 8).

    mdistiller's β per pair: 8 for resnet32x4 → {resnet8x4, ShuffleV1, ShuffleV2}, 2 for resnet56 → 20 and
    resnet110 → 32, 6 for vgg13 → vgg8 and the wrn pairs.
    """

    weights = LossWeights(ce=1.0, kd=1.0, warmup_epochs=20)

    def __init__(self, context: LossContext | None = None, *, alpha: float = 1.0, beta: float = 8.0) -> None:
        super().__init__()
        for key, value in (("alpha", alpha), ("beta", beta)):
            if float(value) < 0:
                raise RLKDError(f"loss 'dkd': {key} must be >= 0, got {value}")
        self.alpha, self.beta = float(alpha), float(beta)

    def terms(
        self,
        student_logits: torch.Tensor,
        teacher_logits: torch.Tensor,
        target: torch.Tensor,
        temperature: torch.Tensor,
        **unused: object,
    ) -> dict[str, torch.Tensor]:
        if student_logits.shape[1] < 2:
            raise RLKDError("loss 'dkd' needs at least 2 classes (it splits target and non-target classes)")
        tckd, nckd = dkd_parts(student_logits, teacher_logits, target, temperature)
        return {"tckd": self.alpha * tckd, "nckd": self.beta * nckd}

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, beta={self.beta}"
