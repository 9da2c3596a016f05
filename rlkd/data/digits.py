"""The embedded default: scikit-learn's 8×8 digits (1,797 images, 10 classes), shipped inside the package.

It needs no download and no ``data.root``, so the quickstart and the test suite run anywhere, offline.
The split is stratified and fixed (seed 0): 1,437 train / 360 test. Pixels are /16, then standardised with
the train split's mean and std (one channel, so one scalar each).
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch.utils.data import Dataset

from rlkd.data import DATASETS
from rlkd.data.bundle import DataBundle, first_k

TEST_SIZE = 360
SPLIT_SEED = 0


class DigitsImages(Dataset):
    """Float images [1,8,8]; with ``augment`` a random shift of up to ±1 pixel (background filled)."""

    def __init__(self, images: torch.Tensor, targets: torch.Tensor, augment: bool, background: float) -> None:
        self.images, self.targets, self.augment, self.background = images, targets, augment, background

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int, int]:
        image = self.images[index]
        if self.augment:
            i, j = (int(v) for v in torch.randint(0, 3, size=(2,)))
            image = F.pad(image, (1, 1, 1, 1), value=self.background)[:, i:i + 8, j:j + 8]
        return image, int(self.targets[index]), int(index)


def split() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, float]:
    """Train/test images and labels, plus the standardised value of a blank pixel; the same on every call."""
    digits = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        digits.data / 16.0, digits.target, test_size=TEST_SIZE, stratify=digits.target, random_state=SPLIT_SEED)
    mean, std = x_train.mean(), x_train.std()

    def images(x) -> torch.Tensor:
        return torch.as_tensor((x - mean) / std, dtype=torch.float32).view(-1, 1, 8, 8)

    background = float(images(x_train[:1] * 0).flatten()[0])
    return (images(x_train), torch.as_tensor(y_train, dtype=torch.long),
            images(x_test), torch.as_tensor(y_test, dtype=torch.long), background)


@DATASETS.register("digits")
def build(root: Path | None = None, *, download: bool = False, train_limit: int | None = None,
          test_limit: int | None = None, augment: bool = True) -> DataBundle:
    x_train, y_train, x_test, y_test, background = split()
    train = DigitsImages(x_train, y_train, augment, background)
    test = DigitsImages(x_test, y_test, False, background)
    return DataBundle(first_k(train, train_limit, "data.train_limit"), first_k(test, test_limit, "data.test_limit"),
                      10, (1, 8, 8), "digits")
