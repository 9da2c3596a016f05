"""Datasets: the (image, target, index) contract, the CIFAR-100 recipe bit for bit, digits, and the errors.

Real CIFAR-100 comes from ``../shared/data/cifar100`` (only ``train_0.npz`` and ``test.npz`` are read);
those tests are skipped with a reason when it is absent.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader, Subset, TensorDataset

from rlkd.data import DATASETS, DataBundle, IndexedDataset, build_datasets, dataset_targets
from rlkd.data.transforms import CIFAR100_MEAN, CIFAR100_STD, cifar100_transform
from rlkd.errors import RLKDError

SHARED_CIFAR = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar100"
FILES_READ = ("train_0.npz", "test.npz")


@pytest.fixture(scope="module")
def cifar_root() -> Path:
    """The shared CIFAR-100 folder, its two files checked against SHA256SUMS once per test run."""
    if not all((SHARED_CIFAR / name).is_file() for name in (*FILES_READ, "SHA256SUMS")):
        pytest.skip(f"shared CIFAR-100 not found at {SHARED_CIFAR} (needs {', '.join(FILES_READ)} and SHA256SUMS)")
    sums = dict(reversed(line.split()) for line in (SHARED_CIFAR / "SHA256SUMS").read_text().splitlines() if line)
    for name in FILES_READ:
        digest = hashlib.sha256((SHARED_CIFAR / name).read_bytes()).hexdigest()
        assert digest == sums[name], f"{name} does not match SHA256SUMS"
    return SHARED_CIFAR


@pytest.fixture(scope="module")
def raw_train(cifar_root: Path) -> dict[str, np.ndarray]:
    with np.load(cifar_root / "train_0.npz") as f:
        return {"x": f["x"][:2000], "y": f["y"][:2000]}


@pytest.fixture(scope="module")
def raw_test(cifar_root: Path) -> dict[str, np.ndarray]:
    with np.load(cifar_root / "test.npz") as f:
        return {"x": f["x"][:200], "y": f["y"][:200]}


@pytest.fixture(scope="module")
def npz(cifar_root: Path) -> DataBundle:
    return build_datasets("cifar100_npz", str(cifar_root), train_limit=2000, test_limit=200)


def normalise_np(x_hwc: np.ndarray) -> np.ndarray:
    """The hand-written reference: /255, minus mean, over std, HWC → CHW, in float32."""
    mean, std = np.array(CIFAR100_MEAN, np.float32), np.array(CIFAR100_STD, np.float32)
    return ((x_hwc.astype(np.float32) / np.float32(255) - mean) / std).transpose(2, 0, 1)


# ------------------------------------------------------------------------------------------- registry
def test_registry_has_every_dataset() -> None:
    assert DATASETS.names() == ["cifar100", "cifar100_npz", "digits", "imagenet", "synthetic"]


def test_unknown_dataset_lists_known_names() -> None:
    known = "cifar100, cifar100_npz, digits, imagenet, synthetic"
    with pytest.raises(RLKDError, match=f"unknown dataset 'cifar10'.*{known}"):
        build_datasets("cifar10")


def test_indexed_wrapper_adds_position_and_targets_see_through_subset() -> None:
    base = TensorDataset(torch.zeros(5, 1, 2, 2), torch.tensor([3, 1, 4, 1, 5]))
    wrapped = IndexedDataset(Subset(base, range(4)))
    assert [item[1:] for item in wrapped] == [(3, 0), (1, 1), (4, 2), (1, 3)]
    assert isinstance(wrapped[0][1], int) and isinstance(wrapped[0][2], int)
    assert dataset_targets(wrapped).tolist() == [3, 1, 4, 1]  # via .targets → Subset → iteration fallback


# ---------------------------------------------------------------------------------------- npz folder
@pytest.mark.shared_data
def test_npz_items_keep_the_contract(npz: DataBundle, raw_train: dict[str, np.ndarray]) -> None:
    assert (len(npz.train), len(npz.test), npz.num_classes, npz.input_shape) == (2000, 200, 100, (3, 32, 32))
    image, target, index = npz.train[1234]
    assert image.dtype == torch.float32 and image.shape == (3, 32, 32)
    assert (target, index) == (int(raw_train["y"][1234]), 1234)
    x, y, idx = next(iter(DataLoader(npz.test, batch_size=64)))
    assert x.shape == (64, 3, 32, 32) and idx.tolist() == list(range(64)) and y.dtype == torch.long


@pytest.mark.shared_data
def test_first_2000_train_images_are_20_per_class(npz: DataBundle, raw_train: dict[str, np.ndarray]) -> None:
    targets = dataset_targets(npz.train)
    assert torch.equal(targets, torch.from_numpy(raw_train["y"]))
    assert torch.bincount(targets, minlength=100).tolist() == [20] * 100


@pytest.mark.shared_data
def test_test_transform_is_hand_normalisation(npz: DataBundle, raw_test: dict[str, np.ndarray]) -> None:
    x = raw_test["x"][7]
    pixel = (x[5, 9, 1] / 255 - 0.4867) / 0.2565  # green channel of row 5, column 9, by hand
    image = npz.test[7][0]
    assert image[1, 5, 9].item() == pytest.approx(pixel, abs=1e-6)
    np.testing.assert_allclose(image.numpy(), normalise_np(x), rtol=0, atol=1e-6)
    # Bit-identical to the torchvision ToTensor + Normalize path
    assert torch.equal(image, cifar100_transform(train=False)(Image.fromarray(x)))


@pytest.mark.shared_data
def test_augmentation_is_crop_and_flip_of_the_original(npz: DataBundle, raw_train: dict[str, np.ndarray]) -> None:
    flips = set()
    for seed in range(12):
        k = 100 + seed
        torch.manual_seed(seed)  # replay the draws torchvision makes: crop row, crop column, flip
        i, j = int(torch.randint(0, 9, (1,))), int(torch.randint(0, 9, (1,)))
        flip = bool(torch.rand(1) < 0.5)
        flips.add(flip)
        padded = np.pad(raw_train["x"][k], ((4, 4), (4, 4), (0, 0)))  # fill 0, as RandomCrop(padding=4)
        crop = padded[i:i + 32, j:j + 32]
        expected = normalise_np(crop[:, ::-1] if flip else crop)
        torch.manual_seed(seed)
        image, target, index = npz.train[k]
        assert index == k and target == int(raw_train["y"][k])
        np.testing.assert_allclose(image.numpy(), expected, rtol=0, atol=1e-6)
        torch.manual_seed(seed)  # and bit-identical to the torchvision PIL pipeline under the same seed
        assert torch.equal(image, cifar100_transform(train=True)(Image.fromarray(raw_train["x"][k])))
    assert flips == {True, False}


@pytest.mark.shared_data
def test_augment_false_gives_the_test_transform(cifar_root: Path, raw_train: dict[str, np.ndarray]) -> None:
    plain = build_datasets("cifar100_npz", str(cifar_root), train_limit=100, test_limit=100, augment=False)
    np.testing.assert_allclose(plain.train[3][0].numpy(), normalise_np(raw_train["x"][3]), rtol=0, atol=1e-6)
    reference = cifar100_transform(train=True, augment=False)(Image.fromarray(raw_train["x"][3]))
    assert torch.equal(plain.train[3][0], reference)


@pytest.mark.shared_data
def test_npz_reads_only_the_shards_it_needs(cifar_root: Path, tmp_path: Path) -> None:
    for name in FILES_READ:  # a folder holding only train_0 still serves any limit up to 10,000
        (tmp_path / name).symlink_to(cifar_root / name)
    assert len(build_datasets("cifar100_npz", str(tmp_path), train_limit=2000, test_limit=10).train) == 2000
    with pytest.raises(RLKDError, match="data.train_limit=10001 but only 10000"):
        build_datasets("cifar100_npz", str(tmp_path), train_limit=10001)


@pytest.mark.shared_data
def test_npz_limit_larger_than_the_data(cifar_root: Path) -> None:
    with pytest.raises(RLKDError, match="data.test_limit=10001 but only 10000 images"):
        build_datasets("cifar100_npz", str(cifar_root), train_limit=100, test_limit=10_001)


def test_npz_folder_without_shards(tmp_path: Path) -> None:
    with pytest.raises(RLKDError, match="no train_0.npz in .*set data.root"):
        build_datasets("cifar100_npz", str(tmp_path))


# -------------------------------------------------------------------------------------------- digits
def test_digits_split_sizes_classes_and_normalisation() -> None:
    data = build_datasets("digits", augment=False)
    assert (len(data.train), len(data.test), data.num_classes, data.input_shape) == (1437, 360, 10, (1, 8, 8))
    image, target, index = data.train[5]
    assert image.shape == (1, 8, 8) and image.dtype == torch.float32 and index == 5 and 0 <= target < 10
    train_counts = torch.bincount(dataset_targets(data.train), minlength=10)
    test_counts = torch.bincount(dataset_targets(data.test), minlength=10)
    expected_test = (train_counts + test_counts) * 360 / 1797  # stratified: every class split 80/20
    assert ((test_counts - expected_test).abs() < 1).all() and train_counts.sum() == 1437
    pixels = torch.stack([data.train[i][0] for i in range(len(data.train))])
    assert abs(pixels.mean().item()) < 1e-5 and pixels.std().item() == pytest.approx(1.0, abs=1e-3)


def test_digits_builds_are_identical() -> None:
    a, b = build_datasets("digits", augment=False), build_datasets("digits", augment=False)
    for split_a, split_b in ((a.train, b.train), (a.test, b.test)):
        assert torch.equal(split_a.images, split_b.images) and torch.equal(split_a.targets, split_b.targets)


def test_digits_augmentation_is_a_one_pixel_shift() -> None:
    plain, augmented = build_datasets("digits", augment=False), build_datasets("digits", augment=True)
    original = plain.train[11][0]
    background = plain.train.background
    padded = torch.nn.functional.pad(original, (1, 1, 1, 1), value=background)
    shifts = [padded[:, i:i + 8, j:j + 8] for i in range(3) for j in range(3)]
    for seed in range(5):
        torch.manual_seed(seed)
        image = augmented.train[11][0]
        assert any(torch.equal(image, s) for s in shifts)
        torch.manual_seed(seed)
        assert torch.equal(image, augmented.train[11][0])  # same seed, same shift
    assert torch.equal(augmented.test[11][0], plain.test[11][0])  # the test split is never augmented


def test_digits_limits() -> None:
    data = build_datasets("digits", train_limit=100, test_limit=50)
    assert (len(data.train), len(data.test)) == (100, 50)
    assert data.train[99][2] == 99
    with pytest.raises(RLKDError, match="data.train_limit=2000 but only 1437"):
        build_datasets("digits", train_limit=2000)
    with pytest.raises(RLKDError, match="data.test_limit=0: must be a positive"):
        build_datasets("digits", test_limit=0)


# ------------------------------------------------------------------------------ roots, torchvision sets
@pytest.mark.parametrize("name", ["cifar100", "cifar100_npz", "imagenet"])
def test_dataset_needing_files_without_root(name: str) -> None:
    with pytest.raises(RLKDError, match=f"dataset '{name}' needs its files: set data.root"):
        build_datasets(name)


def test_nonexistent_root_names_path_and_key(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(RLKDError, match=f"data.root '{missing}' is not an existing folder"):
        build_datasets("cifar100_npz", str(missing))


def test_cifar100_torchvision_without_data(tmp_path: Path) -> None:
    with pytest.raises(RLKDError, match="cifar-100-python, or pass data.download=true"):
        build_datasets("cifar100", str(tmp_path))


def test_imagenet_folder(tmp_path: Path) -> None:
    with pytest.raises(RLKDError, match="no 'train' folder"):
        build_datasets("imagenet", str(tmp_path))
    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        for cls in ("cat", "dog"):
            (tmp_path / split / cls).mkdir(parents=True)
            for k in range(2):
                pixels = rng.integers(0, 256, (40, 30, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(tmp_path / split / cls / f"{k}.png")
    data = build_datasets("imagenet", str(tmp_path), test_limit=3)
    assert (len(data.train), len(data.test), data.num_classes, data.input_shape) == (4, 3, 2, (3, 224, 224))
    image, target, index = data.train[2]
    assert image.shape == (3, 224, 224) and (target, index) == (1, 2)
    assert dataset_targets(data.test).tolist() == [0, 0, 1]
