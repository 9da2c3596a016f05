"""Teacher weight files in the formats the zoos publish, loaded strictly, with one-line errors.

Accepted: a plain state dict (chenyaofo, torchvision), ``{"model": sd}`` (RepDistiller / mdistiller
``<arch>_vanilla/ckpt_epoch_240.pth``), ``{"state_dict": sd}`` and ``{"net": sd}``; ``module.`` prefixes
(DataParallel) and ``_orig_mod.`` prefixes (torch.compile) are stripped. Files are read with
``weights_only=True``: a checkpoint is data, never code to run.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from rlkd.errors import RLKDError

_WRAPPERS = ("model", "state_dict", "net")
_PREFIXES = ("module.", "_orig_mod.")
_SHOW = 3  # keys quoted per list in a mismatch message


def unwrap_state_dict(obj: object, path: str | Path = "<memory>") -> dict[str, torch.Tensor]:
    """The tensor dict inside any accepted wrapper, with DataParallel / compile prefixes removed."""
    if isinstance(obj, Mapping):
        for key in _WRAPPERS:
            if isinstance(obj.get(key), Mapping):
                obj = obj[key]
                break
    if not isinstance(obj, Mapping) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        top = ", ".join(map(str, list(obj)[:8])) if isinstance(obj, Mapping) else type(obj).__name__
        raise RLKDError(
            f"{path} holds no state dict (top level: {top}); expected a state dict or one under "
            f"{', '.join(repr(k) for k in _WRAPPERS)}: re-save it with torch.save(model.state_dict(), path)"
        )
    state: dict[str, torch.Tensor] = {}
    for key, value in obj.items():
        for prefix in _PREFIXES:
            if key.startswith(prefix):
                key = key[len(prefix):]
        state[key] = value
    return state


def load_state_dict_file(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a local weights file (never a URL) and unwrap it; a missing file names the config key to fix."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise RLKDError(
            f"teacher checkpoint not found: {file}; set model.teacher_checkpoint to an existing local weights file"
        )
    try:
        obj = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt file or pickled code: both mean "not a weights file we can trust"
        found = re.search(r"Unsupported (?:global: GLOBAL \S+|operand \d+)", str(exc))
        reason = found.group(0) if found else type(exc).__name__
        raise RLKDError(
            f"cannot read {file} as a weights-only torch file ({reason}): it is corrupt or pickles Python "
            "objects; re-save it with torch.save(model.state_dict(), path)"
        ) from exc
    return unwrap_state_dict(obj, file)


def _first(keys: list[str]) -> str:
    return ", ".join(keys[:_SHOW]) + (", …" if len(keys) > _SHOW else "") if keys else "none"


def guess_arch(state: Mapping[str, torch.Tensor], exclude: str = "") -> str | None:
    """The registered architecture whose keys and shapes fit ``state`` (any class count), if one does.

    Models are built on the meta device, so trying the whole zoo costs no memory and little time.
    """
    from rlkd.models import MODELS  # late: this module is imported while the zoo registers

    best: tuple[int, str] | None = None
    for name in MODELS.names():
        if name == exclude:
            continue
        with torch.device("meta"):
            own = MODELS.get(name)(num_classes=1).state_dict()
        if own.keys() != state.keys():
            continue
        # Only the classifier's first dimension may differ (the class count).
        bad = sum(own[k].shape != state[k].shape for k in own)
        if bad <= 2 and (best is None or bad < best[0]):
            best = (bad, name)
    return best[1] if best else None


def load_weights(model: nn.Module, state: Mapping[str, torch.Tensor], arch: str, path: str | Path) -> None:
    """``model.load_state_dict(state, strict=True)``, but a mismatch is one RLKDError line naming the fix."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    if missing or unexpected:
        guess = guess_arch(state, exclude=arch)
        hint = (f"set model.teacher={guess}" if guess
                else "set model.teacher to the architecture the file was trained with")
        raise RLKDError(
            f"checkpoint {path} does not fit architecture '{arch}': {len(missing)} missing keys "
            f"({_first(missing)}), {len(unexpected)} unexpected keys ({_first(unexpected)}); {hint}"
        )
    wrong = [k for k in own if own[k].shape != state[k].shape]
    if wrong:
        k = wrong[0]
        raise RLKDError(
            f"checkpoint {path} has the keys of '{arch}' but {len(wrong)} shapes differ, first {k}: "
            f"{list(state[k].shape)} in the file vs {list(own[k].shape)} in the model; "
            "set the dataset's number of classes to the one the teacher was trained on"
        )
    model.load_state_dict(state, strict=True)
