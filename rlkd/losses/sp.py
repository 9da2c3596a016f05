"""SP: similarity-preserving KD (Tung & Mori, ICCV 2019), on the last stage's feature map.

G = F Fᵀ ``[B, B]`` for the flattened features F ``[B, C·H·W]`` of student and teacher, each row L2-normalised
(G̃). The published loss is ‖G̃_t − G̃_s‖²_F / B².

Per instance: row i, L_i = ‖G̃_t[i] − G̃_s[i]‖² / B (how instance i relates to the rest of the batch; rows
are normalised independently, so the row is a natural unit). mean_i L_i = ‖·‖²_F / B² exactly.
Recipe β = 3000 (RepDistiller, which uses the last stage output ``feat[-2]``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from rlkd.losses import LOSSES
from rlkd.losses.base import LossContext
from rlkd.losses.features import FeatureDistillLoss, stages
from rlkd.models.base import Features


def normalized_gram(feats: torch.Tensor) -> torch.Tensor:
    """Row-L2-normalised batch Gram matrix ``[B, B]`` of features ``[B, …]``."""
    flat = feats.flatten(1)
    return F.normalize(flat @ flat.t(), p=2, dim=1)


def sp_per_instance(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """‖G̃_t[i] − G̃_s[i]‖² / B → ``[B]``."""
    diff = normalized_gram(teacher.detach()) - normalized_gram(student)
    return diff.pow(2).sum(1) / student.shape[0]


@LOSSES.register("sp")
class SPLoss(FeatureDistillLoss):
    """SP + KD; terms ``kd`` and ``sp``. Params: alpha (KD weight, 0.9), beta (SP weight, 3000)."""

    key = "sp"

    def __init__(self, context: LossContext | None = None, *, alpha: float = 0.9, beta: float = 3000.0) -> None:
        super().__init__(alpha, beta)

    def feature_term(
        self, student: Features, teacher: Features, teacher_logits: torch.Tensor, index: torch.Tensor | None
    ) -> torch.Tensor:
        return sp_per_instance(stages(self.key, student)[-1], stages(self.key, teacher)[-1])
