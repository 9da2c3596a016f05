"""Small pieces several zoo families share: the zoo's weight init, the staged forward and global pooling.

Kept here so each family file holds only its own architecture.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def zoo_init(model: nn.Module, linear_std: float | None = None) -> None:
    """RepDistiller's init: conv ~ N(0, 2/(k·k·C_out)) (= Kaiming fan-out), conv bias 0, BN (1, 0).

    ``linear_std`` set: the classifier is N(0, std²) with bias 0 (VGG, MobileNetV2); None keeps PyTorch's
    default Linear init (ResNet). Training from scratch should start where the reference zoo starts.
    """
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear) and linear_std is not None:
            nn.init.normal_(m.weight, 0.0, linear_std)
            nn.init.zeros_(m.bias)


def global_pool(x: torch.Tensor) -> torch.Tensor:
    """Global average pool + flatten ([B, C, H, W] → [B, C]).

    The zoo hard-codes the kernel (AvgPool2d(8) on 8x8 maps, avg_pool2d(4) on 4x4, …); on 32x32 inputs that
    is exactly a global pool, and the global form does not break on other input sizes.
    """
    return torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)


def forward_stages(
    stem_preact: torch.Tensor, layers: Sequence[nn.Sequential]
) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
    """ReLU the stem, then run each stage of blocks that return ``(out, preact)``.

    Returns the last output and, for the stem and every stage, the output and its pre-activation: the
    ``Features.stages`` / ``Features.preact`` lists the feature losses read.
    """
    x = F.relu(stem_preact)
    stages, preact = [x], [stem_preact]
    for layer in layers:
        for block in layer:
            x, pre = block(x)
        stages.append(x)
        preact.append(pre)
    return x, stages, preact
