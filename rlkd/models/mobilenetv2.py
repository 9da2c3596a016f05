"""CIFAR MobileNetV2 of the RepDistiller / mdistiller zoo (``MobileNetV2`` = their ``mobile_half``).

Expansion 6, width multiplier 0.5: a stride-2 3x3 stem ``conv1`` (16 ch), seven ``blocks`` of inverted
residuals (t, c, n, s as in the paper, c halved), a 1x1 ``conv2`` to 1280 channels (the zoo does not scale
the last layer below width 1), global pool, ``classifier`` = Sequential(Linear). Module names and Sequential
indices match the zoo so its checkpoints load with ``strict=True``.

Blocks end in a linear bottleneck (no ReLU), so ``preact`` equals ``stages`` except for the stem.
Stage taps follow the zoo: after blocks 1, 2, 4 and 6 (resolution changes).
"""
from __future__ import annotations

from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from rlkd.models import MODELS
from rlkd.models.base import Features, ZooModel
from rlkd.models.common import global_pool, zoo_init


def _conv_bn_relu(cin: int, cout: int, kernel: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class InvertedResidual(nn.Module):
    """1x1 expand-BN-ReLU, 3x3 depthwise-BN-ReLU, 1x1 project-BN; identity added when shapes allow.

    The zoo expands even when t = 1 (an extra 1x1 conv in block 0); kept for key compatibility.
    """

    def __init__(self, cin: int, cout: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = cin * expand
        self.use_res_connect = stride == 1 and cin == cout
        self.conv = nn.Sequential(
            nn.Conv2d(cin, hidden, 1, 1, 0, bias=False), nn.BatchNorm2d(hidden), nn.ReLU(inplace=True),
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, cout, 1, 1, 0, bias=False), nn.BatchNorm2d(cout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(ZooModel):
    """``expand`` = t of blocks 1..6, ``width`` scales every width but the 1280-channel ``conv2``."""

    def __init__(self, expand: int = 6, width: float = 0.5, num_classes: int = 100) -> None:
        super().__init__()
        setting = [(1, 16, 1, 1), (expand, 24, 2, 1), (expand, 32, 3, 2), (expand, 64, 4, 2),
                   (expand, 96, 3, 1), (expand, 160, 3, 2), (expand, 320, 1, 1)]
        cin = int(32 * width)
        self.conv1 = _conv_bn_relu(3, cin, 3, 2)
        self.blocks = nn.ModuleList()
        for t, c, n, s in setting:
            cout = int(c * width)
            layers = []
            for i in range(n):
                layers.append(InvertedResidual(cin, cout, s if i == 0 else 1, t))
                cin = cout
            self.blocks.append(nn.Sequential(*layers))
        last = int(1280 * width) if width > 1.0 else 1280
        self.conv2 = _conv_bn_relu(cin, last, 1, 1)
        # What ``self.classifier = ...`` does, spelled out: the property below has no setter, and
        # nn.Module.__setattr__ stores the Sequential in ``_modules`` without going through it.
        nn.Module.__setattr__(self, "classifier", nn.Sequential(nn.Linear(last, num_classes)))
        zoo_init(self, linear_std=0.01)

    # ``classifier`` is registered as a Sequential (key ``classifier.0.weight``); the contract wants the Linear.
    @property
    def classifier(self) -> nn.Linear:
        return cast(nn.Linear, cast(nn.Sequential, self._modules["classifier"])[0])

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, Features]:
        stem = self.conv1
        pre = stem[1](stem[0](x))
        x = F.relu(pre)
        stages, preact = [x], [pre]
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in (1, 2, 4, 6):
                stages.append(x)
                preact.append(x)
        pooled = global_pool(self.conv2(x))
        return self.classifier(pooled), Features(stages=stages, preact=preact, pooled=pooled)


@MODELS.register("MobileNetV2")
def mobilenetv2(num_classes: int = 100) -> ZooModel:
    return MobileNetV2(expand=6, width=0.5, num_classes=num_classes)
