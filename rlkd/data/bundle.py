"""What a dataset factory returns, and the root/limit checks every factory shares (one message each)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from torch.utils.data import Dataset, Subset

from rlkd.errors import RLKDError


@dataclass
class DataBundle:
    """A train/test pair that keeps the ``(image, target, index)`` contract, plus what models need to know."""

    train: Dataset
    test: Dataset
    num_classes: int
    input_shape: tuple[int, int, int]  # (C, H, W) of one image as the model sees it
    name: str


def require_root(root: Path | None, name: str, *, may_create: bool = False) -> Path:
    """The dataset's folder, or an error naming ``data.root`` (``may_create``: a download will make it)."""
    if root is None:
        raise RLKDError(f"dataset '{name}' needs its files: set data.root to the folder that holds them")
    if not root.is_dir() and not (may_create and not root.exists()):
        raise RLKDError(f"data.root '{root}' is not an existing folder: set data.root to the folder holding '{name}'")
    return root


def check_limit(limit: int | None, available: int, key: str) -> int:
    """``limit`` images out of ``available`` (None = all); out of range → an error naming ``key``."""
    if limit is None:
        return available
    if limit <= 0:
        raise RLKDError(f"{key}={limit}: must be a positive number of images or null")
    if limit > available:
        raise RLKDError(f"{key}={limit} but only {available} images are available: lower {key} or set it to null")
    return limit


def first_k(dataset: Dataset, limit: int | None, key: str) -> Dataset:
    """The first ``limit`` items of ``dataset`` (the dataset itself when no limit is set)."""
    n = len(dataset)  # type: ignore[arg-type]
    k = check_limit(limit, n, key)
    return dataset if k == n else Subset(dataset, range(k))
