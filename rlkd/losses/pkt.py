"""PKT: probabilistic knowledge transfer (Passalis & Tefas, ECCV 2018), on the pooled features.

Cosine similarities within the batch, mapped to [0, 1] and normalised per row into conditional
probabilities q_ij = (1 + cos_ij) / Σ_k (1 + cos_ik) for student (s) and teacher (t). The published loss is
the mean over all B² pairs of q^t_ij · log((q^t_ij + ε) / (q^s_ij + ε)).

Per instance: row i of that matrix, L_i = (1/B) Σ_j q^t_ij log((q^t_ij + ε)/(q^s_ij + ε)): the KL of the
teacher's conditional distribution around i from the student's, divided by B. mean_i L_i = the published
B²-mean exactly. Recipe β = 30000 (RepDistiller; the official ITKD code's ``+ beta`` typo is not kept).
"""
from __future__ import annotations

import torch

from rlkd.losses import LOSSES
from rlkd.losses.base import LossContext
from rlkd.losses.features import FeatureDistillLoss, pooled
from rlkd.models.base import Features

EPS = 1e-7


def conditional_similarity(feats: torch.Tensor) -> torch.Tensor:
    """Row-normalised similarity q_ij ``[B, B]`` from features ``[B, D]``."""
    unit = feats / (feats.norm(dim=1, keepdim=True) + EPS)
    similarity = (unit @ unit.t() + 1.0) / 2.0
    return similarity / similarity.sum(1, keepdim=True)


def pkt_per_instance(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """Row i of the PKT loss matrix, summed and divided by B → ``[B]``."""
    q_s = conditional_similarity(student)
    q_t = conditional_similarity(teacher.detach())
    return (q_t * torch.log((q_t + EPS) / (q_s + EPS))).sum(1) / student.shape[0]


@LOSSES.register("pkt")
class PKTLoss(FeatureDistillLoss):
    """PKT + KD; terms ``kd`` and ``pkt``. Params: alpha (KD weight, 0.9), beta (PKT weight, 30000)."""

    key = "pkt"

    def __init__(self, context: LossContext | None = None, *, alpha: float = 0.9, beta: float = 30000.0) -> None:
        super().__init__(alpha, beta)

    def feature_term(
        self, student: Features, teacher: Features, teacher_logits: torch.Tensor, index: torch.Tensor | None
    ) -> torch.Tensor:
        return pkt_per_instance(pooled(self.key, student), pooled(self.key, teacher))
