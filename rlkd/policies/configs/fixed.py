"""``policy.fixed``: the vanilla-KD baseline's one temperature."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rlkd.errors import require


@dataclass
class FixedConfig:
    NODE: ClassVar[str] = "fixed"  # policy.fixed

    temperature: float = 4.0  # T of every instance and epoch (4: the KD recipe on CIFAR-100)

    def __post_init__(self) -> None:
        require(self.temperature > 0, "policy.fixed.temperature", "must be > 0")
