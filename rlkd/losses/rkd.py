"""RKD: relational KD (Park et al., CVPR 2019), distance and angle terms on the pooled features.

Distance: ψ_D(i, j) = ‖f_i − f_j‖ / μ, μ the mean over the B(B − 1) distinct pairs; loss = mean over all B²
ordered pairs (the diagonal is 0 for both) of Huber(ψ^s_D, ψ^t_D).
Angle: ψ_A(i, j, k) = ⟨e_ij, e_ik⟩ with e_ij = (f_j − f_i) / ‖f_j − f_i‖ (0 when j = i); loss = mean over all
B³ triples of Huber(ψ^s_A, ψ^t_A). Huber = smooth L1 with threshold 1.

Per instance: the pairs and triangles anchored at i. L^D_i = (1/B) Σ_j Huber(ψ^s_D(i, j), ψ^t_D(i, j)) (row i
of the distance matrix); L^A_i = (1/B²) Σ_{j,k} Huber(ψ^s_A(i, j, k), ψ^t_A(i, j, k)) (the angles whose vertex
is i). mean_i of each equals the published B²- and B³-means exactly. The normaliser μ stays a batch
statistic, as published. Term = β·(w_D·L^D_i + w_A·L^A_i); recipe w_D = 25, w_A = 50, β = 1 (RepDistiller).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from rlkd.losses import LOSSES
from rlkd.losses.base import LossContext
from rlkd.losses.features import FeatureDistillLoss, check_nonnegative, pooled
from rlkd.models.base import Features


def normalized_distances(feats: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Pairwise Euclidean distances ``[B, B]`` divided by their mean over distinct pairs (diagonal 0).

    Computed from squared norms and clamped before the square root, so the zero diagonal has a zero (not
    NaN) gradient.
    """
    sq = feats.pow(2).sum(1)
    dist = (sq.unsqueeze(1) + sq.unsqueeze(0) - 2 * feats @ feats.t()).clamp(min=eps).sqrt()
    off_diagonal = 1.0 - torch.eye(len(feats), device=feats.device, dtype=feats.dtype)
    dist = dist * off_diagonal
    return dist / (dist.sum() / off_diagonal.sum())


def angles(feats: torch.Tensor) -> torch.Tensor:
    """ψ_A ``[B, B, B]``: entry (i, j, k) is the cosine of the angle at vertex i between j and k."""
    directions = F.normalize(feats.unsqueeze(0) - feats.unsqueeze(1), p=2, dim=2)  # [i, j] = f_j − f_i
    return directions @ directions.transpose(1, 2)


def rkd_parts(student: torch.Tensor, teacher: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(L^D_i, L^A_i), each ``[B]``."""
    with torch.no_grad():
        d_t, a_t = normalized_distances(teacher), angles(teacher)
    d_s, a_s = normalized_distances(student), angles(student)
    distance = F.smooth_l1_loss(d_s, d_t, reduction="none").mean(1)
    angle = F.smooth_l1_loss(a_s, a_t, reduction="none").flatten(1).mean(1)
    return distance, angle


@LOSSES.register("rkd")
class RKDLoss(FeatureDistillLoss):
    """RKD + KD; terms ``kd`` and ``rkd``.

    Params: alpha (KD weight, 0.9), beta (RKD weight, 1), distance_weight (25), angle_weight (50).
    """

    key = "rkd"

    def __init__(
        self,
        context: LossContext | None = None,
        *,
        alpha: float = 0.9,
        beta: float = 1.0,
        distance_weight: float = 25.0,
        angle_weight: float = 50.0,
    ) -> None:
        super().__init__(alpha, beta)
        check_nonnegative(self.key, distance_weight=distance_weight, angle_weight=angle_weight)
        self.distance_weight, self.angle_weight = float(distance_weight), float(angle_weight)

    def feature_term(
        self, student: Features, teacher: Features, teacher_logits: torch.Tensor, index: torch.Tensor | None
    ) -> torch.Tensor:
        distance, angle = rkd_parts(pooled(self.key, student), pooled(self.key, teacher))
        return self.distance_weight * distance + self.angle_weight * angle

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, distance_weight={self.distance_weight}, angle_weight={self.angle_weight}"
