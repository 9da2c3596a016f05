"""Temperature policies: ``fixed``, ``ctkd_global``, ``ctkd_instance``, ``rlkd`` (one file each).

A new policy is one file: subclass ``TemperaturePolicy``, register a builder
``(cfg: RunConfig, num_classes: int, rank: int) -> TemperaturePolicy`` and import it below.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from rlkd.registry import Registry

if TYPE_CHECKING:
    from rlkd.config import RunConfig
    from rlkd.policies.base import TemperaturePolicy

POLICIES: Registry = Registry("temperature policy")


def build_policy(cfg: "RunConfig", num_classes: int, rank: int = 0) -> "TemperaturePolicy":
    return POLICIES.get(cfg.policy.name)(cfg, num_classes, rank)


from rlkd.policies import ctkd, fixed, rlkd  # noqa: E402,F401  (registration)
from rlkd.policies.base import Step, TemperaturePolicy  # noqa: E402

__all__ = ["POLICIES", "Step", "TemperaturePolicy", "build_policy"]
