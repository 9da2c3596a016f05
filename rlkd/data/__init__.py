"""Datasets: every item is ``(image: FloatTensor[C,H,W], target: int, index: int)``, index = position.

Keys: ``digits`` (embedded, offline, the default), ``cifar100`` (torchvision's cifar-100-python folder),
``cifar100_npz`` (a folder of npz shards, the fast path), ``imagenet`` (ImageFolder train/ and val/),
``synthetic`` (random CIFAR-shaped images for smoke tests and benchmarks).
A new dataset is one module whose ``build(root, *, download, train_limit, test_limit, augment) -> DataBundle``
is decorated with ``@DATASETS.register("key")``, imported below.
"""
from __future__ import annotations

from pathlib import Path

from rlkd.data.bundle import DataBundle
from rlkd.data.indexed import IndexedDataset, dataset_targets
from rlkd.errors import RLKDError
from rlkd.registry import Registry

# Defined before the dataset imports: each dataset module registers its factory into it at import time.
DATASETS: Registry = Registry("dataset")

from rlkd.data import cifar, digits, imagenet, npz_folder, synthetic  # noqa: E402,F401  (imported for their registrations)

__all__ = ["DATASETS", "DataBundle", "IndexedDataset", "build_datasets", "dataset_targets"]


def build_datasets(name: str, root: str | None = None, *, download: bool = False, train_limit: int | None = None,
                   test_limit: int | None = None, augment: bool = True) -> DataBundle:
    """Train and test sets of dataset ``name`` (registry key); ``root`` is resolved to an absolute path here.

    Resolving in the caller's working directory matters: Ray Tune changes it before a trial runs.
    Limits take the first k images (class-balanced for ``cifar100_npz`` when k is a multiple of 100).
    """
    factory = DATASETS.get(name)
    for key, limit in (("data.train_limit", train_limit), ("data.test_limit", test_limit)):
        if limit is not None and limit <= 0:
            raise RLKDError(f"{key}={limit}: must be a positive number of images or null")
    path = Path(root).expanduser().resolve() if root is not None else None
    return factory(path, download=download, train_limit=train_limit, test_limit=test_limit, augment=augment)
