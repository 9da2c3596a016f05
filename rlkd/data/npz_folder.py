"""CIFAR-100 from a folder of npz shards (``train_0..4.npz``, ``test.npz``; ``x`` uint8 [N,32,32,3], ``y``).

Fast on small CPUs: only the shards (and, within a shard, only the leading rows) that ``limit`` needs are
decompressed, the images are held once as one uint8 [N,3,32,32] tensor, and crop/flip/normalise run as tensor
ops that reproduce the torchvision recipe bit for bit (see ``transforms``). Shards are class-balanced round
robin (position p holds class p % 100), so the first 100·k images hold k of every class.
"""
from __future__ import annotations

import itertools
import re
import zipfile
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from rlkd.data import DATASETS
from rlkd.data.bundle import DataBundle, check_limit, require_root
from rlkd.data.transforms import CIFAR100_MEAN, CIFAR100_STD, channel_stats, random_crop_flip, to_normalized
from rlkd.errors import RLKDError

IMAGE_SHAPE = (32, 32, 3)


def shard_paths(root: Path, train: bool) -> list[Path]:
    """``train_0.npz, train_1.npz, …`` in numeric order, or ``[test.npz]``; none found → error naming the fix."""
    if train:
        matches = ((re.fullmatch(r"train_(\d+)\.npz", p.name), p) for p in root.glob("train_*.npz"))
        found = {int(m.group(1)): p for m, p in matches if m}
        paths = [found[i] for i in itertools.takewhile(found.__contains__, itertools.count())]  # up to a gap
    else:
        paths = [root / "test.npz"] if (root / "test.npz").is_file() else []
    if not paths:
        want = "train_0.npz" if train else "test.npz"
        raise RLKDError(f"no {want} in '{root}': set data.root to a folder holding train_0..4.npz and test.npz")
    return paths


def _open_npy(archive: zipfile.ZipFile, key: str, path: Path):
    """The member stream positioned after the .npy header, with the array's shape and dtype."""
    try:
        stream = archive.open(f"{key}.npy")
    except KeyError:
        raise RLKDError(f"'{path}' has no array '{key}': the npz folder needs keys x (uint8 images) and y") from None
    version = np.lib.format.read_magic(stream)
    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, fortran_order, dtype = read_header(stream)
    if fortran_order:
        raise RLKDError(f"'{path}' stores '{key}' in Fortran order: save it C-ordered (np.savez default)")
    return stream, shape, dtype


def npy_rows(path: Path, key: str = "y") -> int:
    """How many rows array ``key`` of an npz has, reading only its header."""
    with zipfile.ZipFile(path) as archive:
        stream, shape, _ = _open_npy(archive, key, path)
        stream.close()
    return int(shape[0])


def read_rows(path: Path, key: str, rows: int) -> np.ndarray:
    """The first ``rows`` rows of array ``key``: decompresses only that prefix of the stream."""
    with zipfile.ZipFile(path) as archive:
        stream, shape, dtype = _open_npy(archive, key, path)
        with stream:
            row_items = int(np.prod(shape[1:], dtype=np.int64))
            data = stream.read(rows * row_items * dtype.itemsize)
    if len(data) != rows * row_items * dtype.itemsize:
        raise RLKDError(f"'{path}' is truncated (array '{key}'): copy the file again or check SHA256SUMS")
    return np.frombuffer(data, dtype=dtype).reshape(rows, *shape[1:])


def load_split(root: Path, train: bool, limit: int | None, key: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Images uint8 [N,3,32,32] and labels int64 [N] of the first ``limit`` images of a split."""
    paths = shard_paths(root, train)
    sizes = [npy_rows(p) for p in paths]
    wanted = check_limit(limit, sum(sizes), key)
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    for path, size in zip(paths, sizes):
        take = min(size, wanted - sum(len(y) for y in ys))
        if take <= 0:
            break
        x = read_rows(path, "x", take)
        if x.shape[1:] != IMAGE_SHAPE or x.dtype != np.uint8:
            raise RLKDError(f"'{path}' x is {x.dtype} {x.shape[1:]}: cifar100_npz needs uint8 (N, 32, 32, 3) RGB")
        xs.append(x)
        ys.append(read_rows(path, "y", take).astype(np.int64))
    images = torch.from_numpy(np.concatenate(xs)).permute(0, 3, 1, 2).contiguous()
    return images, torch.from_numpy(np.concatenate(ys))


class NpzImages(Dataset):
    """uint8 images held as one tensor; items are normalised float32 [3,32,32] (cropped and flipped if train)."""

    def __init__(self, images: torch.Tensor, targets: torch.Tensor, augment: bool) -> None:
        self.images, self.targets, self.augment = images, targets, augment
        self.mean, self.std = channel_stats(CIFAR100_MEAN, CIFAR100_STD)

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int, int]:
        image = self.images[index]
        if self.augment:
            image = random_crop_flip(image)
        return to_normalized(image, self.mean, self.std), int(self.targets[index]), int(index)


@DATASETS.register("cifar100_npz")
def build(root: Path | None, *, download: bool = False, train_limit: int | None = None,
          test_limit: int | None = None, augment: bool = True) -> DataBundle:
    root = require_root(root, "cifar100_npz")
    train = NpzImages(*load_split(root, True, train_limit, "data.train_limit"), augment=augment)
    test = NpzImages(*load_split(root, False, test_limit, "data.test_limit"), augment=False)
    return DataBundle(train, test, 100, (3, 32, 32), "cifar100_npz")
