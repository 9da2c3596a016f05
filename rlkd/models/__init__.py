"""The model zoo: RepDistiller / mdistiller CIFAR models, torchvision ImageNet models, tiny digits CNNs.

Every model is a ``ZooModel``: ``forward(x) -> (logits, Features)``. Module names follow the reference zoos,
so their checkpoints load with ``strict=True`` (see ``checkpoints.py``). A new family is one file that
registers its factories with ``@MODELS.register("key")`` and is imported below.
"""
from __future__ import annotations

from typing import Callable

from rlkd.models.base import Features, ZooModel
from rlkd.registry import Registry

# Defined before the family imports: each family module registers its factories here at import time.
# A factory takes ``num_classes`` and returns a freshly initialised ZooModel.
MODELS: Registry[Callable[..., ZooModel]] = Registry("model")

from rlkd.models import (  # noqa: E402,F401  (imported for their registrations)
    imagenet,
    mobilenetv2,
    resnet_cifar,
    resnet_cifar_bottleneck,
    shufflenetv1,
    shufflenetv2,
    tiny,
    vgg,
    wrn,
)
from rlkd.models.checkpoints import load_state_dict_file, load_weights  # noqa: E402
from rlkd.models.stem import adapt_stem  # noqa: E402


def build_model(name: str, num_classes: int = 100, in_channels: int | None = None) -> ZooModel:
    """A freshly initialised model of the zoo key ``name`` (unknown key → error listing the known ones).

    ``in_channels`` (the data's, e.g. 1 for the embedded digits) replaces the stem convolution when it differs
    from the architecture's own, so every zoo model runs on every data set: a table whose rows change the
    architectures (ablations/kd_ctkd_rlkd) runs under the digits quickstart with the real CIFAR models.
    """
    model = MODELS.get(name)(num_classes=num_classes)
    if in_channels is not None:
        adapt_stem(model, in_channels)
    return model


def load_teacher(name: str, path: str, num_classes: int = 100, in_channels: int | None = None) -> ZooModel:
    """Model ``name`` with the weights of the local file ``path`` (strict), in eval mode, grads off.

    Never downloads: teachers come from files (``model.teacher_checkpoint``), so runs are reproducible offline.
    """
    model = build_model(name, num_classes, in_channels)
    load_weights(model, load_state_dict_file(path), arch=name, path=path)
    model.eval()
    model.requires_grad_(False)
    return model


__all__ = ["Features", "ZooModel", "MODELS", "adapt_stem", "build_model", "load_teacher"]
