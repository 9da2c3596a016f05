"""Fit a model's input convolution to the data's channel count (the CIFAR and ImageNet zoos are RGB)."""
from __future__ import annotations

from typing import cast

from torch import nn


def stem_name(model: nn.Module) -> str:
    """Dotted name of the first convolution the input meets.

    Every zoo family registers its stem before any other convolution, so the first ``Conv2d`` in module order
    is the stem; tests/test_models.py checks this on every registered key by running it on 1-channel input.
    """
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            return name
    raise ValueError(f"{type(model).__name__} has no convolution to take the input")


def adapt_stem(model: nn.Module, in_channels: int) -> nn.Module:
    """Replace the stem by a freshly initialised one reading ``in_channels`` (a no-op when it already does)."""
    name = stem_name(model)
    old = model.get_submodule(name)
    assert isinstance(old, nn.Conv2d)
    if old.in_channels == in_channels:
        return model
    if old.groups != 1:
        raise ValueError(f"{type(model).__name__}: grouped stem {name} cannot take {in_channels} channels")
    # A Conv2d holds one pair per geometry field; torch types the fields it shares with _ConvNd as tuple[int, ...].
    new = nn.Conv2d(in_channels, old.out_channels,
                    cast("tuple[int, int]", old.kernel_size), cast("tuple[int, int]", old.stride),
                    cast("str | tuple[int, int]", old.padding), cast("tuple[int, int]", old.dilation),
                    bias=old.bias is not None, padding_mode=old.padding_mode)
    parent, _, attr = name.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, attr, new.to(old.weight.device))
    return model
