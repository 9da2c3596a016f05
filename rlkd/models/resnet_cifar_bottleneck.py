"""CIFAR ResNet-50 of the RepDistiller / mdistiller zoo (their ``resnetv2.py``; key ``ResNet50``).

torchvision-style widths (64→2048) on 32x32 inputs: a 3x3 stride-1 stem ``conv1``/``bn1`` (no max pool),
``layer1..4`` of 3/4/6/3 bottlenecks (strides 1, 2, 2, 2), global pool, ``linear``. Shortcuts are named
``shortcut`` (Sequential(1x1 conv, BN) where the shape changes, empty otherwise) as in the zoo, so its
checkpoints load with ``strict=True``. ``ResNet18`` (same file upstream, a student there) is included.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from rlkd.models import MODELS
from rlkd.models.base import Features, ZooModel
from rlkd.models.common import forward_stages, global_pool, zoo_init


def _shortcut(cin: int, cout: int, stride: int) -> nn.Sequential:
    if stride == 1 and cin == cout:
        return nn.Sequential()  # identity, no parameters
    return nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = _shortcut(cin, planes, stride)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pre = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))) + self.shortcut(x)
        return F.relu(pre), pre


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (carries the stride), 1x1 expand ×4; returns ``(out, preact)``."""

    expansion = 4

    def __init__(self, cin: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.shortcut = _shortcut(cin, planes * 4, stride)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))
        pre = self.bn3(self.conv3(out)) + self.shortcut(x)
        return F.relu(pre), pre


class CifarResNetV2(ZooModel):
    """``block`` is BasicBlock or Bottleneck; ``blocks`` = blocks per stage (four stages)."""

    def __init__(self, block: type[BasicBlock] | type[Bottleneck], blocks: list[int], num_classes: int = 100) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        cin = 64
        stages = []
        for planes, n, stride in zip((64, 128, 256, 512), blocks, (1, 2, 2, 2)):
            layers = []
            for i in range(n):
                layers.append(block(cin, planes, stride if i == 0 else 1))
                cin = planes * block.expansion
            stages.append(nn.Sequential(*layers))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.linear = nn.Linear(cin, num_classes)
        zoo_init(self)

    @property
    def classifier(self) -> nn.Linear:  # the zoo names it ``linear``
        return self.linear

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, Features]:
        layers = (self.layer1, self.layer2, self.layer3, self.layer4)
        x, stages, preact = forward_stages(self.bn1(self.conv1(x)), layers)
        pooled = global_pool(x)
        return self.linear(pooled), Features(stages=stages, preact=preact, pooled=pooled)


@MODELS.register("ResNet50")
def resnet50(num_classes: int = 100) -> ZooModel:
    return CifarResNetV2(Bottleneck, [3, 4, 6, 3], num_classes)


@MODELS.register("ResNet18")
def resnet18(num_classes: int = 100) -> ZooModel:
    return CifarResNetV2(BasicBlock, [2, 2, 2, 2], num_classes)
