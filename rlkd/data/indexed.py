"""The dataset contract: every item is ``(image, target, index)``, index = position in the dataset.

The index is what lets the trainer keep per-instance state (the running prediction entropy that ranks
instances for exploration, CRD's memory bank) without the dataset knowing about it.
"""
from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import Dataset, Subset


class IndexedDataset(Dataset):
    """Adds the position to any ``(image, target)`` dataset (torchvision CIFAR100, ImageFolder, a Subset)."""

    def __init__(self, base: Dataset) -> None:
        self.base = base

    def __len__(self) -> int:
        return len(self.base)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int, int]:
        image, target = self.base[index]
        return image, int(target), int(index)

    @property
    def targets(self) -> torch.Tensor:
        return dataset_targets(self.base)


def dataset_targets(dataset: Any) -> torch.Tensor:
    """All labels as a LongTensor [N], read without decoding images wherever the dataset allows it.

    Uses ``.targets`` (torchvision datasets, the datasets of this package) and sees through ``Subset``;
    any other dataset is iterated, which is correct but loads every image.
    """
    if isinstance(dataset, Subset):
        return dataset_targets(dataset.dataset)[torch.as_tensor(list(dataset.indices), dtype=torch.long)]
    targets = getattr(dataset, "targets", None)
    if targets is not None:
        return torch.as_tensor(targets, dtype=torch.long)
    return torch.tensor([int(dataset[i][1]) for i in range(len(dataset))], dtype=torch.long)
