"""CIFAR ShuffleNet V1 of the RepDistiller / mdistiller zoo (``ShuffleV1``: g = 3, widths 240/480/960).

A 1x1 stem ``conv1``/``bn1`` (24 ch, no downsampling), three stages ``layer1..3`` of 4/8/4 bottlenecks whose
first block halves the resolution and concatenates an avg-pooled shortcut, global pool, ``linear``. Module
names match the zoo, so its checkpoints load with ``strict=True``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from rlkd.models import MODELS
from rlkd.models.base import Features, ZooModel
from rlkd.models.common import forward_stages, global_pool


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """[N, g·c, H, W] → interleave the g groups, so the next grouped conv sees every group."""
    n, c, h, w = x.shape
    return x.reshape(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


class Bottleneck(nn.Module):
    """Grouped 1x1 → shuffle → 3x3 depthwise → grouped 1x1; add (stride 1) or concat (stride 2) shortcut.

    Returns ``(out, preact)``. The first 1x1 is ungrouped when its input is the 24-channel stem (as in the zoo).
    """

    def __init__(self, cin: int, cout: int, stride: int, groups: int) -> None:
        super().__init__()
        self.stride = stride
        mid = cout // 4
        self.g1 = 1 if cin == 24 else groups
        self.conv1 = nn.Conv2d(cin, mid, 1, groups=self.g1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.conv2 = nn.Conv2d(mid, mid, 3, stride=stride, padding=1, groups=mid, bias=False)
        self.bn2 = nn.BatchNorm2d(mid)
        self.conv3 = nn.Conv2d(mid, cout, 1, groups=groups, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = channel_shuffle(F.relu(self.bn1(self.conv1(x))), self.g1)
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.stride == 2:
            preact = torch.cat([out, F.avg_pool2d(x, 3, stride=2, padding=1)], 1)
        else:
            preact = out + x
        return F.relu(preact), preact


class ShuffleNetV1(ZooModel):
    """``widths`` per stage, ``blocks`` per stage, ``groups`` of the grouped 1x1 convs."""

    def __init__(self, widths: tuple[int, ...], blocks: tuple[int, ...], groups: int, num_classes: int = 100) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 24, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(24)
        cin = 24
        stages = []
        for cout, n in zip(widths, blocks):
            # The first block's output is concatenated with its input, so its branch makes cout - cin channels.
            layers = [Bottleneck(cin, cout - cin, 2, groups)]
            layers += [Bottleneck(cout, cout, 1, groups) for _ in range(n - 1)]
            stages.append(nn.Sequential(*layers))
            cin = cout
        self.layer1, self.layer2, self.layer3 = stages
        self.linear = nn.Linear(widths[-1], num_classes)

    @property
    def classifier(self) -> nn.Linear:  # the zoo names it ``linear``
        return self.linear

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, Features]:
        x, stages, preact = forward_stages(self.bn1(self.conv1(x)), (self.layer1, self.layer2, self.layer3))
        pooled = global_pool(x)
        return self.linear(pooled), Features(stages=stages, preact=preact, pooled=pooled)


@MODELS.register("ShuffleV1")
def shufflev1(num_classes: int = 100) -> ZooModel:
    return ShuffleNetV1(widths=(240, 480, 960), blocks=(4, 8, 4), groups=3, num_classes=num_classes)
