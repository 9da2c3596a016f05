"""Two small CNNs for the embedded quickstart data (sklearn digits: [1, 8, 8] inputs, 10 classes).

``digits_cnn_t`` (teacher, ~75k parameters) and ``digits_cnn_s`` (student, ~11k) share one layout so the
quickstart exercises every code path of the CIFAR zoo (stages, preact, pooled) in seconds on a CPU:
stem conv-BN-ReLU at 8x8, stage 1 conv-BN-ReLU at 8x8, max pool, stage 2 conv-BN-ReLU at 4x4, global pool, fc.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from rlkd.models import MODELS
from rlkd.models.base import Features, ZooModel
from rlkd.models.common import global_pool, zoo_init


class ConvBN(nn.Module):
    """3x3 conv + BN; the ReLU is applied by the caller so the pre-ReLU value can be exposed."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


class DigitsCNN(ZooModel):
    """``widths`` = (stem, stage 1, stage 2) channels; single-channel 8x8 input."""

    def __init__(self, widths: tuple[int, int, int], num_classes: int = 10, in_channels: int = 1) -> None:
        super().__init__()
        self.stem = ConvBN(in_channels, widths[0])
        self.stage1 = ConvBN(widths[0], widths[1])
        self.stage2 = ConvBN(widths[1], widths[2])
        self.fc = nn.Linear(widths[2], num_classes)
        zoo_init(self)

    @property
    def classifier(self) -> nn.Linear:
        return self.fc

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, Features]:
        stages: list[torch.Tensor] = []
        preact: list[torch.Tensor] = []
        for i, layer in enumerate((self.stem, self.stage1, self.stage2)):
            if i == 2:
                x = F.max_pool2d(x, 2)  # 8x8 → 4x4
            pre = layer(x)
            x = F.relu(pre)
            preact.append(pre)
            stages.append(x)
        pooled = global_pool(x)
        return self.fc(pooled), Features(stages=stages, preact=preact, pooled=pooled)


@MODELS.register("digits_cnn_t")
def digits_cnn_t(num_classes: int = 10) -> ZooModel:
    return DigitsCNN((32, 64, 96), num_classes)


@MODELS.register("digits_cnn_s")
def digits_cnn_s(num_classes: int = 10) -> ZooModel:
    return DigitsCNN((16, 24, 32), num_classes)
