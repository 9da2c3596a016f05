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


def build_model(name: str, num_classes: int = 100) -> ZooModel:
    """A freshly initialised model of the zoo key ``name`` (unknown key → error listing the known ones)."""
    return MODELS.get(name)(num_classes=num_classes)


def load_teacher(name: str, path: str, num_classes: int = 100) -> ZooModel:
    """Model ``name`` with the weights of the local file ``path`` (strict), in eval mode, grads off.

    Never downloads: teachers come from files (``model.teacher_checkpoint``), so runs are reproducible offline.
    """
    model = build_model(name, num_classes)
    load_weights(model, load_state_dict_file(path), arch=name, path=path)
    model.eval()
    model.requires_grad_(False)
    return model


__all__ = ["Features", "ZooModel", "MODELS", "build_model", "load_teacher"]
