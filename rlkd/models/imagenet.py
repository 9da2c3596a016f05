"""torchvision ImageNet models exposing the zoo's ``Features``: imagenet_resnet18/34/50, imagenet_mobilenet_v2.

The wrappers adopt torchvision's own submodules under torchvision's names, so torchvision weight files load
with ``strict=True`` through ``load_teacher`` (never downloaded here: ``weights=None``; pass a local file).
torchvision is imported on first build only: it adds ~1.5 s to every process that imports the zoo.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, cast

import torch
import torch.nn.functional as F
from torch import nn

from rlkd.models import MODELS
from rlkd.models.base import Features, ZooModel
from rlkd.models.common import global_pool

if TYPE_CHECKING:
    from torchvision.models import MobileNetV2, ResNet
    from torchvision.models.resnet import BasicBlock, Bottleneck


def _block_preact(block: BasicBlock | Bottleneck, x: torch.Tensor) -> torch.Tensor:
    """torchvision's residual block up to, not including, its final ReLU (its own forward hides that value)."""
    out = F.relu(block.bn1(block.conv1(x)))
    out = block.bn2(block.conv2(out))
    if hasattr(block, "conv3"):  # Bottleneck
        out = block.bn3(block.conv3(F.relu(out)))
    return out + (x if block.downsample is None else block.downsample(x))


class ImageNetResNet(ZooModel):
    """torchvision ResNet; stages = stem (after ReLU, before max pool) and ``layer1..4``."""

    def __init__(self, net: ResNet) -> None:
        super().__init__()
        self.conv1, self.bn1, self.maxpool = net.conv1, net.bn1, net.maxpool
        self.layer1, self.layer2, self.layer3, self.layer4 = net.layer1, net.layer2, net.layer3, net.layer4
        self.fc = net.fc

    @property
    def classifier(self) -> nn.Linear:  # torchvision names it ``fc``
        return self.fc

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, Features]:
        pre = self.bn1(self.conv1(x))
        x = F.relu(pre)
        stages, preact = [x], [pre]
        x = self.maxpool(x)
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = layer[:-1](x)
            pre = _block_preact(layer[-1], x)
            x = F.relu(pre)
            stages.append(x)
            preact.append(pre)
        pooled = global_pool(x)
        return self.fc(pooled), Features(stages=stages, preact=preact, pooled=pooled)


class ImageNetMobileNetV2(ZooModel):
    """torchvision MobileNetV2; stage taps at the ends of the 1/4, 1/8, 1/16, 1/32 resolutions (as the CIFAR
    zoo's MobileNetV2). Blocks end in linear bottlenecks, so ``preact`` = ``stages`` except for the stem."""

    _TAPS = (3, 6, 13, 17)

    def __init__(self, net: MobileNetV2) -> None:
        super().__init__()
        self.features = net.features
        # Sequential(Dropout, Linear): key ``classifier.1.weight``. Registered as ``self.classifier = ...`` would
        # (nn.Module.__setattr__ puts it in ``_modules``); the read-only property below then returns the Linear.
        nn.Module.__setattr__(self, "classifier", net.classifier)

    @property
    def classifier(self) -> nn.Linear:  # the contract's final Linear inside torchvision's head
        return cast(nn.Linear, self._head()[1])

    def _head(self) -> nn.Sequential:
        """torchvision's whole head, Dropout included (what ``forward`` applies)."""
        return cast(nn.Sequential, self._modules["classifier"])

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, Features]:
        stem = self.features[0]
        pre = stem[1](stem[0](x))
        x = stem[2](pre)
        stages, preact = [x], [pre]
        for i in range(1, len(self.features)):
            x = self.features[i](x)
            if i in self._TAPS:
                stages.append(x)
                preact.append(x)
        pooled = global_pool(x)
        return self._head()(pooled), Features(stages=stages, preact=preact, pooled=pooled)


def _register(name: str, wrapper: type[ZooModel]) -> None:
    arch = name.removeprefix("imagenet_")

    @MODELS.register(name)
    def factory(num_classes: int = 1000) -> ZooModel:
        make = getattr(importlib.import_module("torchvision.models"), arch)
        return wrapper(make(weights=None, num_classes=num_classes))


_register("imagenet_resnet18", ImageNetResNet)
_register("imagenet_resnet34", ImageNetResNet)
_register("imagenet_resnet50", ImageNetResNet)
_register("imagenet_mobilenet_v2", ImageNetMobileNetV2)
