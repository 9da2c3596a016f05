"""SRRL: KD via softmax regression representation learning (Yang et al., ICLR 2021), on the pooled features.

A connector (1×1 conv = linear map without bias, BatchNorm, ReLU) maps the student's pooled feature h_s to
the teacher's width; the term is the feature loss plus the softmax-regression loss, i.e. the connected
feature passed through the teacher's (fixed) classifier must reproduce the teacher's logits:
    L_i = mean_d (φ(h_s,i) − h_t,i)²  +  mean_k (W_t φ(h_s,i) + b_t − z_t,i)²
Both are per-instance means, so mean_i L_i equals the two published MSE losses exactly. The connector is
trained with the student; the teacher classifier is read live from the teacher and never trained (its
weights are used detached, and it is not a submodule of the loss, so ``loss.parameters()`` excludes it).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from rlkd.errors import RLKDError
from rlkd.losses import LOSSES
from rlkd.losses.base import LossContext
from rlkd.losses.features import ZOO_HINT, FeatureDistillLoss, pooled, probe, require_context
from rlkd.models.base import Features


def connector(student_dim: int, teacher_dim: int) -> nn.Sequential:
    """SRRL's transfer block on a pooled vector (the 1×1 conv on a 1×1 map is a linear map)."""
    return nn.Sequential(nn.Linear(student_dim, teacher_dim, bias=False), nn.BatchNorm1d(teacher_dim), nn.ReLU())


@LOSSES.register("srrl")
class SRRLLoss(FeatureDistillLoss):
    """SRRL + KD; terms ``kd`` and ``srrl``. Params: alpha (KD weight, 0.9), beta (SRRL weight, 1)."""

    key = "srrl"

    def __init__(self, context: LossContext | None = None, *, alpha: float = 0.9, beta: float = 1.0) -> None:
        super().__init__(alpha, beta)
        context = require_context(self.key, context)
        s, t, _ = probe(self.key, context)
        head = getattr(context.teacher, "classifier", None)
        if not isinstance(head, nn.Linear):
            raise RLKDError(f"loss 'srrl' needs the teacher's final nn.Linear as `.classifier`: {ZOO_HINT}")
        self.connector = connector(pooled(self.key, s).shape[1], pooled(self.key, t).shape[1])
        self._teacher_head = (head,)  # a tuple: referenced, not registered (never trained, never saved)

    def feature_term(
        self, student: Features, teacher: Features, teacher_logits: torch.Tensor, index: torch.Tensor | None
    ) -> torch.Tensor:
        connected = self.connector(pooled(self.key, student))
        head = self._teacher_head[0]
        bias = head.bias.detach() if head.bias is not None else None
        predicted = F.linear(connected, head.weight.detach(), bias)
        feature_loss = (connected - pooled(self.key, teacher).detach()).pow(2).mean(1)
        logit_loss = (predicted - teacher_logits).pow(2).mean(1)
        return feature_loss + logit_loss
