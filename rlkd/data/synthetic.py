"""Deterministic CIFAR-shaped random images (3×32×32, 100 classes) for smoke tests and benchmarks.

No files and no download: timing and wiring checks of any (teacher, student, loss, policy) combination run
anywhere. Each class has its own fixed mean pattern, so the data are learnable, if trivially.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import Dataset

from rlkd.data import DATASETS
from rlkd.data.bundle import DataBundle, check_limit

NUM_CLASSES, TRAIN_SIZE, TEST_SIZE = 100, 512, 128


class SyntheticImages(Dataset):
    def __init__(self, size: int, seed: int) -> None:
        g = torch.Generator().manual_seed(seed)
        patterns = torch.randn(NUM_CLASSES, 3, 32, 32, generator=torch.Generator().manual_seed(1234))
        self.targets = torch.arange(size) % NUM_CLASSES
        self.images = patterns[self.targets] + torch.randn(size, 3, 32, 32, generator=g)

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int, int]:
        return self.images[index], int(self.targets[index]), int(index)


@DATASETS.register("synthetic")
def build(root: Path | None, *, download: bool, train_limit: int | None, test_limit: int | None,
          augment: bool) -> DataBundle:
    train = SyntheticImages(check_limit(train_limit, TRAIN_SIZE, "data.train_limit"), seed=0)
    test = SyntheticImages(check_limit(test_limit, TEST_SIZE, "data.test_limit"), seed=1)
    return DataBundle(train, test, NUM_CLASSES, (3, 32, 32), "synthetic")
