"""The contract every zoo model keeps: ``forward(x) -> (logits, Features)``.

Feature losses (PKT, SP, VID, CRD, SRRL, RKD) read what they need from ``Features``; a model that cannot
provide a field raises when asked, so a loss/model mismatch fails with one line.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
from torch import nn


@dataclass
class Features:
    """What a forward pass exposes besides the logits.

    stages: post-activation output of the stem and of every stage, shallow to deep ([B, C, H, W] each).
    preact: the same stages before their final ReLU (equal to ``stages`` where a family has none).
    pooled: the globally pooled, flattened last feature that feeds the classifier ([B, D]).
    """

    stages: list[torch.Tensor] = field(default_factory=list)
    preact: list[torch.Tensor] = field(default_factory=list)
    pooled: torch.Tensor | None = None


class ZooModel(nn.Module):
    """Base class: subclasses expose ``classifier`` (the final nn.Linear) and implement ``forward``.

    A subclass either registers the Linear as ``self.classifier`` (declare ``classifier: nn.Linear`` on the class)
    or, where its reference zoo names that module otherwise, defines a ``classifier`` property returning it.
    """

    if TYPE_CHECKING:  # typing only: a runtime property here would shadow a submodule registered as ``classifier``
        @property
        def classifier(self) -> nn.Linear: ...

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, Features]:  # pragma: no cover - abstract
        raise NotImplementedError
