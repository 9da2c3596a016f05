"""ImageNet in torchvision's ``ImageFolder`` layout (``root/train/<class>/*``, ``root/val/<class>/*``).

The official RLKD ImageNet path does not run (spec section 8); this one is plain torchvision with the
standard ResNet recipe, so torchvision's pretrained teachers see the normalisation they were trained with.
"""
from __future__ import annotations

from pathlib import Path

from torchvision.datasets import ImageFolder

from rlkd.data import DATASETS
from rlkd.data.bundle import DataBundle, first_k, require_root
from rlkd.data.indexed import IndexedDataset
from rlkd.data.transforms import imagenet_transform
from rlkd.errors import RLKDError


def load_split(root: Path, split: str, augment: bool) -> ImageFolder:
    folder = root / split
    if not folder.is_dir():
        raise RLKDError(f"no '{split}' folder in '{root}': set data.root to a folder holding train/ and val/ "
                        f"in ImageFolder layout (one subfolder per class)")
    try:
        return ImageFolder(str(folder), transform=imagenet_transform(split == "train", augment))
    except (FileNotFoundError, OSError) as exc:
        raise RLKDError(
            f"'{folder}' is not an ImageFolder ({exc}): put one subfolder of images per class in it") from None


@DATASETS.register("imagenet")
def build(root: Path | None, *, download: bool = False, train_limit: int | None = None,
          test_limit: int | None = None, augment: bool = True) -> DataBundle:
    root = require_root(root, "imagenet")
    train, val = load_split(root, "train", augment), load_split(root, "val", augment)
    if train.classes != val.classes:
        raise RLKDError(f"'{root}/train' and '{root}/val' have different class folders: give both the same classes")
    return DataBundle(IndexedDataset(first_k(train, train_limit, "data.train_limit")),
                      IndexedDataset(first_k(val, test_limit, "data.test_limit")),
                      len(train.classes), (3, 224, 224), "imagenet")
