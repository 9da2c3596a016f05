"""Temperature policies: ``fixed``, ``ctkd_global``, ``ctkd_instance``, ``rlkd`` (one file each).

A new policy is one file plus, if it has knobs, its config: subclass ``TemperaturePolicy`` (which says what the
policy needs from the trainer), register the builder ``(own, cfg, num_classes, rank) -> TemperaturePolicy`` with
``@register_policy("key", config=TheConfig)`` and list the module in ``_BUILTIN``; ``TheConfig`` is a torch-free
dataclass in ``rlkd/policies/configs/`` with ``NODE`` naming its node ``policy.<node>`` (a field of
``rlkd.config.PolicyConfig``). This package imports torch only when a policy is first asked for (PEP 562), so
``rlkd.config`` reads the config dataclasses without torch.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rlkd.policies.base import Step, TemperaturePolicy
    from rlkd.policies.registry import POLICIES, PolicyEntry, build_policy, own_config, register_policy

_BUILTIN = ("ctkd", "fixed", "rlkd")  # the modules that register the built-in policies
_EXPORTS = {
    "POLICIES": "registry", "PolicyEntry": "registry", "build_policy": "registry", "own_config": "registry",
    "register_policy": "registry", "Step": "base", "TemperaturePolicy": "base",
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'rlkd.policies' has no attribute '{name}'")
    for module in _BUILTIN:  # registration: every key is known once anything is looked up
        importlib.import_module(f"rlkd.policies.{module}")
    value = getattr(importlib.import_module(f"rlkd.policies.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


__all__ = ["POLICIES", "PolicyEntry", "Step", "TemperaturePolicy", "build_policy", "own_config", "register_policy"]
