"""CIFAR-100 through torchvision's ``CIFAR100`` (the ``cifar-100-python`` folder), with the spec's recipe.

Download is off by default: runs must work offline and never fetch data behind the user's back.
"""
from __future__ import annotations

from pathlib import Path

from torchvision.datasets import CIFAR100

from rlkd.data import DATASETS
from rlkd.data.bundle import DataBundle, first_k, require_root
from rlkd.data.indexed import IndexedDataset
from rlkd.data.transforms import cifar100_transform
from rlkd.errors import RLKDError


def load_split(root: Path, train: bool, download: bool, augment: bool) -> CIFAR100:
    """One split; missing data → an error saying where the files must be or how to fetch them."""
    try:
        return CIFAR100(str(root), train=train, download=download, transform=cifar100_transform(train, augment))
    except (RuntimeError, OSError) as exc:
        if download:
            raise RLKDError(
                f"could not download CIFAR-100 into '{root}' ({exc}): run once on a machine with internet, "
                f"or set data.root to a folder holding cifar-100-python"
            ) from None
        raise RLKDError(
            f"no CIFAR-100 in '{root}': set data.root to a folder holding cifar-100-python, "
            f"or pass data.download=true on a machine with internet"
        ) from None


@DATASETS.register("cifar100")
def build(root: Path | None, *, download: bool = False, train_limit: int | None = None,
          test_limit: int | None = None, augment: bool = True) -> DataBundle:
    root = require_root(root, "cifar100", may_create=download)
    train = first_k(load_split(root, True, download, augment), train_limit, "data.train_limit")
    test = first_k(load_split(root, False, download, augment), test_limit, "data.test_limit")
    return DataBundle(IndexedDataset(train), IndexedDataset(test), 100, (3, 32, 32), "cifar100")
