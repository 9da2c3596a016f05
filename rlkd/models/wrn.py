"""Wide ResNets of the RepDistiller / mdistiller zoo: wrn_16_1, wrn_16_2, wrn_40_1, wrn_40_2.

WRN-d-k: a 3x3 stem ``conv1`` (16 ch), three ``blockN.layer`` stages of (d-4)/6 pre-activation blocks at
16k/32k/64k channels (strides 1, 2, 2), then ``bn1``-ReLU, global pool, ``fc``. Module names match the zoo
so its checkpoints load with ``strict=True``.

Pre-activation means a stage ends in a residual sum, not a ReLU. Features follow mdistiller's taps:
``stages`` are the raw stem/stage outputs and ``preact`` applies the BN that follows each of them (the next
stage's first ``bn1``, or the final ``bn1``), i.e. the value just before the next ReLU.
"""
from __future__ import annotations

from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from rlkd.models import MODELS
from rlkd.models.base import Features, ZooModel
from rlkd.models.common import global_pool, zoo_init


class WideBlock(nn.Module):
    """BN-ReLU-conv, BN-ReLU-conv; a 1x1 ``convShortcut`` on the activated input only where width changes."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, stride=1, padding=1, bias=False)
        self.convShortcut = nn.Conv2d(cin, cout, 1, stride=stride, bias=False) if cin != cout else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        act = F.relu(self.bn1(x))
        out = self.conv2(F.relu(self.bn2(self.conv1(act))))
        return out + (x if self.convShortcut is None else self.convShortcut(act))


class NetworkBlock(nn.Module):
    """One stage; exists only so the keys read ``blockN.layer.i…`` as in the zoo."""

    def __init__(self, n: int, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.layer = nn.Sequential(*[WideBlock(cin if i == 0 else cout, cout, stride if i == 0 else 1)
                                     for i in range(n)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x)


class WideResNet(ZooModel):
    """WRN-``depth``-``widen`` (depth = 6n+4), no dropout (the zoo trains with dropRate 0)."""

    def __init__(self, depth: int, widen: int, num_classes: int = 100) -> None:
        super().__init__()
        assert (depth - 4) % 6 == 0, "depth must be 6n+4"
        n = (depth - 4) // 6
        ch = [16, 16 * widen, 32 * widen, 64 * widen]
        self.conv1 = nn.Conv2d(3, ch[0], 3, stride=1, padding=1, bias=False)
        self.block1 = NetworkBlock(n, ch[0], ch[1], 1)
        self.block2 = NetworkBlock(n, ch[1], ch[2], 2)
        self.block3 = NetworkBlock(n, ch[2], ch[3], 2)
        self.bn1 = nn.BatchNorm2d(ch[3])
        self.fc = nn.Linear(ch[3], num_classes)
        zoo_init(self)
        nn.init.zeros_(self.fc.bias)

    @property
    def classifier(self) -> nn.Linear:  # the zoo names it ``fc``
        return self.fc

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, Features]:
        f0 = self.conv1(x)
        f1 = self.block1(f0)
        f2 = self.block2(f1)
        f3 = self.block3(f2)
        last_pre = self.bn1(f3)
        pooled = global_pool(F.relu(last_pre))
        preact = [
            f0,  # the stem conv has no BN/ReLU of its own
            cast(WideBlock, self.block2.layer[0]).bn1(f1),
            cast(WideBlock, self.block3.layer[0]).bn1(f2),
            last_pre,
        ]
        return self.fc(pooled), Features(stages=[f0, f1, f2, f3], preact=preact, pooled=pooled)


def _register(name: str, depth: int, widen: int) -> None:
    @MODELS.register(name)
    def factory(num_classes: int = 100) -> ZooModel:
        return WideResNet(depth, widen, num_classes)


for _name, _depth, _widen in (("wrn_16_1", 16, 1), ("wrn_16_2", 16, 2), ("wrn_40_1", 40, 1), ("wrn_40_2", 40, 2)):
    _register(_name, _depth, _widen)
