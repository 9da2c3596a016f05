"""CTKD baselines (Li et al., "Curriculum Temperature for Knowledge Distillation", AAAI 2023).

The temperature is learned adversarially by the student's own SGD through a gradient-reversal layer
whose strength λ rises 0 → 1 by a cosine over the first epochs: T = t_min + t_range·sigmoid(θ).
``ctkd_global`` learns one θ; ``ctkd_instance`` maps concat(p_t, p_s) to one θ per instance.
"""
from __future__ import annotations

import math
from typing import cast

import torch
from torch import nn

from rlkd.config import RunConfig
from rlkd.policies.base import Step, TemperaturePolicy
from rlkd.policies.configs.ctkd import CTKDConfig
from rlkd.policies.registry import register_policy


class GradientReversal(torch.autograd.Function):
    """Identity forward; backward multiplies the gradient by −λ (the student maximises w.r.t. T)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, lam: float) -> torch.Tensor:
        ctx.lam = lam
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return -ctx.lam * grad, None


def reversal_strength(epoch: int, ramp_epochs: int) -> float:
    """λ(E) = (1 − cos(π·min(E / ramp, 1))) / 2: 0 at E = 0, 1 from E = ramp on."""
    return (1.0 - math.cos(math.pi * min(epoch / ramp_epochs, 1.0))) / 2.0


class _CTKD(TemperaturePolicy):
    def __init__(self, cfg: CTKDConfig) -> None:
        super().__init__()
        self.t_min, self.t_range, self.ramp = cfg.t_min, cfg.t_range, cfg.lambda_epochs
        # θ starts where T equals start_temperature (the fixed baseline's T), so both begin from the same point.
        start = min(max((cfg.start_temperature - self.t_min) / self.t_range, 1e-3), 1 - 1e-3)
        self.theta0 = math.log(start / (1 - start))

    def _map(self, theta: torch.Tensor, epoch: int) -> torch.Tensor:
        theta = GradientReversal.apply(theta, reversal_strength(epoch, self.ramp))
        temps = self.t_min + self.t_range * torch.sigmoid(theta)
        self.log_temperatures(temps)
        return temps

    def student_parameters(self) -> list[nn.Parameter]:
        return list(self.parameters())


class CTKDGlobal(_CTKD):
    per_instance = False  # one learned T for every instance

    def __init__(self, cfg: CTKDConfig) -> None:
        super().__init__(cfg)
        self.theta = nn.Parameter(torch.tensor(self.theta0))

    def temperatures(self, step: Step) -> torch.Tensor:
        return self._map(self.theta.expand(step.student_logits.shape[0]), step.epoch)


class CTKDInstance(_CTKD):
    def __init__(self, cfg: CTKDConfig, num_classes: int) -> None:
        super().__init__(cfg)
        self.net = nn.Sequential(nn.Linear(2 * num_classes, cfg.hidden), nn.ReLU(), nn.Linear(cfg.hidden, 1))
        head = cast(nn.Linear, self.net[-1])
        nn.init.zeros_(head.weight)
        nn.init.constant_(head.bias, self.theta0)

    def temperatures(self, step: Step) -> torch.Tensor:
        probs = torch.cat([step.teacher_logits.softmax(1), step.student_logits.softmax(1)], dim=1).detach()
        return self._map(self.net(probs).squeeze(-1), step.epoch)


@register_policy("ctkd_global", config=CTKDConfig)
def build_ctkd_global(own: CTKDConfig, cfg: RunConfig, num_classes: int, rank: int = 0) -> CTKDGlobal:
    return CTKDGlobal(own)


@register_policy("ctkd_instance", config=CTKDConfig)
def build_ctkd_instance(own: CTKDConfig, cfg: RunConfig, num_classes: int, rank: int = 0) -> CTKDInstance:
    return CTKDInstance(own, num_classes)
