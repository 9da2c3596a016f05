"""CIFAR ResNets of the RepDistiller / mdistiller zoo: resnet8 … resnet110, resnet8x4, resnet32x4.

Layout of their ``ResNet(depth, num_filters, "basicblock")``: 3x3 stem ``conv1``/``bn1``, three stages
``layer1..3`` of BasicBlocks (strides 1, 2, 2), a ``downsample`` = Sequential(1x1 conv, BN) only where the
shape changes, global 8x8 average pool and ``fc``. Same module names, so the zoo's checkpoints (and the
shipped chenyaofo resnet56) load with ``strict=True``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from rlkd.models import MODELS
from rlkd.models.base import Features, ZooModel
from rlkd.models.common import forward_stages, global_pool, zoo_init


def conv3x3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel_size=3, stride=stride, padding=1, bias=False)


class BasicBlock(nn.Module):
    """conv-BN-ReLU-conv-BN plus shortcut; returns ``(out, preact)`` so a stage can expose its pre-ReLU sum."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = conv3x3(cin, cout, stride)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = conv3x3(cout, cout)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = (
            nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))
            if stride != 1 or cin != cout
            else None
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        preact = out + (x if self.downsample is None else self.downsample(x))
        return F.relu(preact), preact


class CifarResNet(ZooModel):
    """``depth`` = 6n+2 (n blocks per stage); ``widths`` = [stem, stage1, stage2, stage3] channels."""

    def __init__(self, depth: int, widths: list[int], num_classes: int = 100) -> None:
        super().__init__()
        assert (depth - 2) % 6 == 0, "depth must be 6n+2"
        n = (depth - 2) // 6
        self.conv1 = conv3x3(3, widths[0])
        self.bn1 = nn.BatchNorm2d(widths[0])
        cin = widths[0]
        stages = []
        for cout, stride in zip(widths[1:], (1, 2, 2)):
            stages.append(nn.Sequential(*[BasicBlock(cin if i == 0 else cout, cout, stride if i == 0 else 1)
                                          for i in range(n)]))
            cin = cout
        self.layer1, self.layer2, self.layer3 = stages
        self.fc = nn.Linear(widths[3], num_classes)
        zoo_init(self)

    @property
    def classifier(self) -> nn.Linear:  # the zoo names it ``fc``; checkpoints keep that key
        return self.fc

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, Features]:
        x, stages, preact = forward_stages(self.bn1(self.conv1(x)), (self.layer1, self.layer2, self.layer3))
        pooled = global_pool(x)
        return self.fc(pooled), Features(stages=stages, preact=preact, pooled=pooled)


_THIN, _X4 = [16, 16, 32, 64], [32, 64, 128, 256]
_CONFIGS = {
    "resnet8": (8, _THIN), "resnet14": (14, _THIN), "resnet20": (20, _THIN), "resnet32": (32, _THIN),
    "resnet44": (44, _THIN), "resnet56": (56, _THIN), "resnet110": (110, _THIN),
    "resnet8x4": (8, _X4), "resnet32x4": (32, _X4),
}


def _register(name: str, depth: int, widths: list[int]) -> None:
    @MODELS.register(name)
    def factory(num_classes: int = 100) -> ZooModel:
        return CifarResNet(depth, widths, num_classes)


for _name, (_depth, _widths) in _CONFIGS.items():
    _register(_name, _depth, _widths)
