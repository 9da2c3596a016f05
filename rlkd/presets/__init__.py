"""Named starting points for a run (``--preset NAME``): one YAML file each in this folder."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from rlkd.errors import RLKDError

PRESET_DIR = Path(__file__).parent


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def load_preset(name: str) -> dict[str, Any]:
    path = PRESET_DIR / f"{name}.yaml"
    if not path.exists():
        raise RLKDError(f"unknown preset '{name}'; known: {', '.join(preset_names())}")
    return OmegaConf.to_container(OmegaConf.load(path))  # type: ignore[return-value]
