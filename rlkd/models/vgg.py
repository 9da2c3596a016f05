"""CIFAR VGGs with BatchNorm of the RepDistiller / mdistiller zoo: vgg8, vgg11, vgg13, vgg16, vgg19.

Five conv blocks ``block0..4`` (Sequential of conv-BN-ReLU, the block's last ReLU left out so the pre-ReLU
output can be tapped), max pools between blocks 0-1, 1-2, 2-3 (none before block 4 on 32x32 inputs), global
average pool and a single ``classifier`` Linear(512, classes): the zoo's "FC layers removed" VGG. The
Sequential indices (ReLUs included) match the zoo's keys, e.g. ``block0.1.running_mean``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from rlkd.models import MODELS
from rlkd.models.base import Features, ZooModel
from rlkd.models.common import global_pool, zoo_init

# Channels per conv in each of the five blocks (RepDistiller's cfg "S", "A", "B", "D", "E").
_CFG = {
    "vgg8": [[64], [128], [256], [512], [512]],
    "vgg11": [[64], [128], [256, 256], [512, 512], [512, 512]],
    "vgg13": [[64, 64], [128, 128], [256, 256], [512, 512], [512, 512]],
    "vgg16": [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]],
    "vgg19": [[64, 64], [128, 128], [256, 256, 256, 256], [512, 512, 512, 512], [512, 512, 512, 512]],
}


def _make_block(channels: list[int], cin: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for cout in channels:
        layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
        cin = cout
    return nn.Sequential(*layers[:-1])  # the final ReLU is applied in forward, after the preact tap


class VGG(ZooModel):
    """VGG-BN for 32x32 inputs; ``cfg`` lists the conv widths of the five blocks."""

    classifier: nn.Linear

    def __init__(self, cfg: list[list[int]], num_classes: int = 100) -> None:
        super().__init__()
        cins = [3] + [c[-1] for c in cfg[:-1]]
        self.block0, self.block1, self.block2, self.block3, self.block4 = (
            _make_block(c, cin) for c, cin in zip(cfg, cins)
        )
        self.classifier = nn.Linear(cfg[-1][-1], num_classes)
        zoo_init(self, linear_std=0.01)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, Features]:
        stages: list[torch.Tensor] = []
        preact: list[torch.Tensor] = []
        blocks = (self.block0, self.block1, self.block2, self.block3, self.block4)
        for i, block in enumerate(blocks):
            if 1 <= i <= 3:  # pool0..pool2; the zoo's pool3 runs only on 64x64 inputs
                x = F.max_pool2d(x, kernel_size=2, stride=2)
            pre = block(x)
            x = F.relu(pre)
            preact.append(pre)
            stages.append(x)
        pooled = global_pool(x)
        return self.classifier(pooled), Features(stages=stages, preact=preact, pooled=pooled)


def _register(name: str, cfg: list[list[int]]) -> None:
    @MODELS.register(name)
    def factory(num_classes: int = 100) -> ZooModel:
        return VGG(cfg, num_classes)


for _name, _cfg in _CFG.items():
    _register(_name, _cfg)
