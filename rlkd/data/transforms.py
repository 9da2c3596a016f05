"""The augmentation and normalisation recipes (spec section 6), as torchvision pipelines and as tensor ops.

The torchvision pipelines serve PIL datasets (torchvision CIFAR100, ImageFolder). The tensor ops serve
uint8 image tensors (the npz folder): the same random draws from torch's global RNG, in the same order,
and the same float32 arithmetic as RandomCrop + RandomHorizontalFlip + ToTensor + Normalize, so both paths
give bit-identical images under the same seed, without a PIL round trip per image.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torchvision import transforms as T

CIFAR100_MEAN = (0.5071, 0.4867, 0.4408)  # CRD / mdistiller values (spec section 6)
CIFAR100_STD = (0.2675, 0.2565, 0.2761)
IMAGENET_MEAN = (0.485, 0.456, 0.406)  # torchvision's ImageNet weights were trained with these
IMAGENET_STD = (0.229, 0.224, 0.225)


def cifar100_transform(train: bool, augment: bool = True) -> T.Compose:
    """Train: RandomCrop(32, padding=4) + flip; test (or ``augment=False``): ToTensor + Normalize only."""
    steps: list = [T.RandomCrop(32, padding=4), T.RandomHorizontalFlip()] if train and augment else []
    return T.Compose([*steps, T.ToTensor(), T.Normalize(CIFAR100_MEAN, CIFAR100_STD)])


def imagenet_transform(train: bool, augment: bool = True) -> T.Compose:
    """Train: RandomResizedCrop(224) + flip; test (or ``augment=False``): Resize(256) + CenterCrop(224)."""
    if train and augment:
        steps: list = [T.RandomResizedCrop(224), T.RandomHorizontalFlip()]
    else:
        steps = [T.Resize(256), T.CenterCrop(224)]
    return T.Compose([*steps, T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)])


def random_crop_flip(image: torch.Tensor, padding: int = 4) -> torch.Tensor:
    """RandomCrop(size, padding, fill 0) + RandomHorizontalFlip on a [C, H, W] tensor, torchvision's draws.

    Draw order matches torchvision: crop row, crop column (``torch.randint``), then flip (``torch.rand``).
    """
    _, h, w = image.shape
    i = int(torch.randint(0, 2 * padding + 1, size=(1,)))
    j = int(torch.randint(0, 2 * padding + 1, size=(1,)))
    out = F.pad(image, (padding, padding, padding, padding))[:, i:i + h, j:j + w]
    if torch.rand(1) < 0.5:
        return out.flip(-1)
    return out


def to_normalized(image: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """uint8 [C, H, W] → float32, exactly ToTensor's ``div(255)`` then Normalize's ``sub_(mean).div_(std)``.

    ``mean``/``std`` are float32 [C, 1, 1] (see ``channel_stats``), built once per dataset.
    """
    return image.to(torch.get_default_dtype()).div(255).sub_(mean).div_(std)


def channel_stats(mean: tuple[float, ...], std: tuple[float, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and std as [C, 1, 1] tensors in the default dtype, as ``Normalize`` builds them."""
    dtype = torch.get_default_dtype()
    return torch.as_tensor(mean, dtype=dtype).view(-1, 1, 1), torch.as_tensor(std, dtype=dtype).view(-1, 1, 1)
