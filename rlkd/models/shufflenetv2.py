"""CIFAR ShuffleNet V2 of the RepDistiller / mdistiller zoo (``ShuffleV2``: net size 1, 116/232/464 ch).

A 1x1 stem ``conv1``/``bn1`` (24 ch), three stages ``layer1..3`` each of one DownBlock and 3/7/3 split
BasicBlocks, a 1x1 ``conv2``/``bn2`` to 1024 channels, global pool, ``linear``. Module names match the zoo,
so its checkpoints load with ``strict=True``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from rlkd.models import MODELS
from rlkd.models.base import Features, ZooModel
from rlkd.models.common import forward_stages, global_pool


def channel_shuffle(x: torch.Tensor, groups: int = 2) -> torch.Tensor:
    """Interleave the two halves so information crosses the split in the next block."""
    n, c, h, w = x.shape
    return x.reshape(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


def _conv_bn(cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1) -> tuple[nn.Conv2d, nn.BatchNorm2d]:
    return nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)


class BasicBlock(nn.Module):
    """Split channels in half; 1x1-BN-ReLU, 3x3 dw-BN, 1x1-BN-ReLU on one half; concat; shuffle.

    Returns ``(out, preact)``; preact is the concat before the branch's last ReLU (and before the shuffle),
    as in the zoo.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        c = channels // 2
        self.conv1, self.bn1 = _conv_bn(c, c, 1)
        self.conv2, self.bn2 = _conv_bn(c, c, 3, groups=c)
        self.conv3, self.bn3 = _conv_bn(c, c, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x1, x2 = x.chunk(2, dim=1)
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x2)))))
        pre = self.bn3(self.conv3(out))
        out = channel_shuffle(torch.cat([x1, F.relu(pre)], 1))
        return out, torch.cat([x1, pre], 1)


class DownBlock(nn.Module):
    """Two stride-2 branches (dw-BN, 1x1-BN-ReLU | 1x1-BN-ReLU, dw-BN, 1x1-BN-ReLU), concat, shuffle."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        mid = cout // 2
        self.conv1, self.bn1 = _conv_bn(cin, cin, 3, stride=2, groups=cin)
        self.conv2, self.bn2 = _conv_bn(cin, mid, 1)
        self.conv3, self.bn3 = _conv_bn(cin, mid, 1)
        self.conv4, self.bn4 = _conv_bn(mid, mid, 3, stride=2, groups=mid)
        self.conv5, self.bn5 = _conv_bn(mid, mid, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        left = F.relu(self.bn2(self.conv2(self.bn1(self.conv1(x)))))
        right = F.relu(self.bn3(self.conv3(x)))
        right = F.relu(self.bn5(self.conv5(self.bn4(self.conv4(right)))))
        out = channel_shuffle(torch.cat([left, right], 1))
        return out, out


class ShuffleNetV2(ZooModel):
    """``widths`` = three stage widths + the final 1x1 width; ``blocks`` = BasicBlocks per stage."""

    def __init__(self, widths: tuple[int, ...], blocks: tuple[int, ...], num_classes: int = 100) -> None:
        super().__init__()
        self.conv1, self.bn1 = _conv_bn(3, 24, 1)
        cin = 24
        stages = []
        for cout, n in zip(widths[:3], blocks):
            stages.append(nn.Sequential(DownBlock(cin, cout), *[BasicBlock(cout) for _ in range(n)]))
            cin = cout
        self.layer1, self.layer2, self.layer3 = stages
        self.conv2, self.bn2 = _conv_bn(cin, widths[3], 1)
        self.linear = nn.Linear(widths[3], num_classes)

    @property
    def classifier(self) -> nn.Linear:  # the zoo names it ``linear``
        return self.linear

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, Features]:
        x, stages, preact = forward_stages(self.bn1(self.conv1(x)), (self.layer1, self.layer2, self.layer3))
        pooled = global_pool(F.relu(self.bn2(self.conv2(x))))
        return self.linear(pooled), Features(stages=stages, preact=preact, pooled=pooled)


@MODELS.register("ShuffleV2")
def shufflev2(num_classes: int = 100) -> ZooModel:
    return ShuffleNetV2(widths=(116, 232, 464, 1024), blocks=(3, 7, 3), num_classes=num_classes)
