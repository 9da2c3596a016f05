"""VID: variational information distillation (Ahn et al., CVPR 2019), on the stage outputs.

For each paired stage, a regressor μ(·) (three 1×1 convs, ReLU between, mid width = teacher channels) maps
the student map onto the teacher map, with a learned per-channel variance σ²_c = softplus(v_c) + ε
(initial σ² = 5). The loss is the Gaussian negative log-likelihood of the teacher map,
½ (t − μ(s))² / σ²_c + ½ log σ²_c (constant dropped), averaged over C·H·W — per instance directly, so
mean_i equals the published mean — and summed over the stages. Where the spatial sizes differ, the larger
map is average-pooled to the smaller one (RepDistiller).

Stages are RepDistiller's ``feat[1:-1]``: every stage output after the stem. When the two models have a
different number of stages, the deepest ones are paired. KD is counted once (the official ITKD code
counts it twice). Regressors and variances are trained with the student.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from rlkd.errors import RLKDError
from rlkd.losses import LOSSES
from rlkd.losses.base import LossContext
from rlkd.losses.features import FeatureDistillLoss, probe, require_context, stages
from rlkd.models.base import Features

INIT_VARIANCE, EPS = 5.0, 1e-5


def match_spatial(student: torch.Tensor, teacher: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Average-pool whichever map is larger (per spatial dim) to the other's size."""
    size = (min(student.shape[2], teacher.shape[2]), min(student.shape[3], teacher.shape[3]))
    if tuple(student.shape[2:]) != size:
        student = F.adaptive_avg_pool2d(student, size)
    if tuple(teacher.shape[2:]) != size:
        teacher = F.adaptive_avg_pool2d(teacher, size)
    return student, teacher


class VIDStage(nn.Module):
    """Regressor + per-channel variance for one (student stage, teacher stage) pair."""

    def __init__(self, student_channels: int, teacher_channels: int) -> None:
        super().__init__()
        c = teacher_channels
        self.regressor = nn.Sequential(
            nn.Conv2d(student_channels, c, 1, bias=False), nn.ReLU(),
            nn.Conv2d(c, c, 1, bias=False), nn.ReLU(),
            nn.Conv2d(c, c, 1, bias=False),
        )
        # softplus⁻¹(INIT_VARIANCE − EPS), so the initial variance is exactly INIT_VARIANCE.
        self.log_scale = nn.Parameter(torch.full((c,), math.log(math.expm1(INIT_VARIANCE - EPS))))

    def variance(self) -> torch.Tensor:
        return F.softplus(self.log_scale) + EPS

    def forward(self, student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood per instance ``[B]``, averaged over C·H·W."""
        student, teacher = match_spatial(student, teacher.detach())
        mean = self.regressor(student)
        var = self.variance().view(1, -1, 1, 1)
        nll = 0.5 * ((mean - teacher).pow(2) / var + var.log())
        return nll.flatten(1).mean(1)


@LOSSES.register("vid")
class VIDLoss(FeatureDistillLoss):
    """VID + KD; terms ``kd`` and ``vid``. Params: alpha (KD weight, 0.9), beta (VID weight, 1)."""

    key = "vid"

    def __init__(self, context: LossContext | None = None, *, alpha: float = 0.9, beta: float = 1.0) -> None:
        super().__init__(alpha, beta)
        s, t, _ = probe(self.key, require_context(self.key, context))
        s_maps, t_maps = self.paired(stages(self.key, s), stages(self.key, t))
        if not s_maps:
            raise RLKDError("loss 'vid' needs at least one stage after the stem in both models' Features.stages")
        self.stages = nn.ModuleList(VIDStage(a.shape[1], b.shape[1]) for a, b in zip(s_maps, t_maps))

    @staticmethod
    def paired(
        student: list[torch.Tensor], teacher: list[torch.Tensor]
    ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """The deepest n stages after the stem of each model, n = the smaller count."""
        n = min(len(student), len(teacher)) - 1
        return (student[len(student) - n :], teacher[len(teacher) - n :]) if n > 0 else ([], [])

    def feature_term(
        self, student: Features, teacher: Features, teacher_logits: torch.Tensor, index: torch.Tensor | None
    ) -> torch.Tensor:
        s_maps, t_maps = self.paired(stages(self.key, student), stages(self.key, teacher))
        if len(s_maps) != len(self.stages):
            raise RLKDError(
                f"loss 'vid' was built for {len(self.stages)} stage pairs but got {len(s_maps)}: "
                "build it with the same student and teacher it is used with"
            )
        return torch.stack([stage(a, b) for stage, a, b in zip(self.stages, s_maps, t_maps)]).sum(0)
