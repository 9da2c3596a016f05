"""Fixed temperature: the vanilla-KD baseline (T = ``policy.fixed.temperature`` for every instance)."""
from __future__ import annotations

import torch

from rlkd.config import RunConfig
from rlkd.policies.base import Step, TemperaturePolicy
from rlkd.policies.configs.fixed import FixedConfig
from rlkd.policies.registry import register_policy


class FixedTemperature(TemperaturePolicy):
    per_instance = False

    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def temperatures(self, step: Step) -> torch.Tensor:
        temps = torch.full((step.student_logits.shape[0],), self.value, device=step.student_logits.device)
        self.log_temperatures(temps)
        return temps


@register_policy("fixed", config=FixedConfig)
def build_fixed(own: FixedConfig, cfg: RunConfig, num_classes: int, rank: int = 0) -> FixedTemperature:
    return FixedTemperature(own.temperature)
