"""Fixed temperature: the vanilla-KD baseline (T = 4 for every instance)."""
from __future__ import annotations

import torch

from rlkd.config import RunConfig
from rlkd.policies import POLICIES
from rlkd.policies.base import Step, TemperaturePolicy


class FixedTemperature(TemperaturePolicy):
    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def temperatures(self, step: Step) -> torch.Tensor:
        temps = torch.full((step.student_logits.shape[0],), self.value, device=step.student_logits.device)
        self.log_temperatures(temps)
        return temps


@POLICIES.register("fixed")
def build_fixed(cfg: RunConfig, num_classes: int, rank: int = 0) -> FixedTemperature:
    return FixedTemperature(cfg.policy.fixed_temperature)
