"""KD losses with a per-instance temperature: ``kd``, ``dkd`` and the feature frameworks ``pkt``, ``sp``,
``vid``, ``crd``, ``srrl``, ``rkd`` (one file each, spec section 3).

Every loss is a ``DistillLoss``: ``terms(z_s, z_t, target, T[B], …)`` returns named per-instance terms ``[B]``
and ``weights`` is its framework's recipe. A new loss is one file that registers its class with
``@LOSSES.register("key")`` and is imported below; its keyword-only ``__init__`` arguments are its params.
"""
from __future__ import annotations

import inspect

from rlkd.errors import RLKDError
from rlkd.losses.base import DistillLoss, LossContext, LossWeights, check_temperature
from rlkd.registry import Registry

# Defined before the loss imports: each loss module registers its class here at import time.
# A registered class is called as ``cls(context, **params)``.
LOSSES: Registry[type[DistillLoss]] = Registry("loss")

from rlkd.losses import crd, dkd, kd, pkt, rkd, sp, srrl, vid  # noqa: E402,F401  (registration)


def loss_params(name: str) -> list[str]:
    """The params loss ``name`` accepts (its keyword-only constructor arguments), in declaration order."""
    signature = inspect.signature(LOSSES.get(name).__init__)
    return [p.name for p in signature.parameters.values() if p.kind is inspect.Parameter.KEYWORD_ONLY]


def build_loss(name: str, context: LossContext | None = None, **params: object) -> DistillLoss:
    """The loss ``name`` with its recipe defaults overridden by ``params``.

    Unknown name → error listing the known losses; unknown param → error naming it and the accepted ones.
    Feature losses with auxiliary modules (vid, crd, srrl) need ``context`` to probe the models' shapes.
    """
    accepted = loss_params(name)
    for key in params:
        if key not in accepted:
            raise RLKDError(
                f"unknown parameter '{key}' for loss '{name}'; accepted: {', '.join(accepted) or '(none)'}"
            )
    return LOSSES.get(name)(context, **params)


__all__ = ["LOSSES", "DistillLoss", "LossContext", "LossWeights", "build_loss", "check_temperature", "loss_params"]
