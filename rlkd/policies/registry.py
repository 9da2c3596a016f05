"""The policy registry: each key's builder and the ``policy.<node>`` config holding its own knobs (torch-free)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from rlkd.errors import RLKDError
from rlkd.registry import Registry

if TYPE_CHECKING:
    from rlkd.config import RunConfig
    from rlkd.policies.base import TemperaturePolicy

# build(own, cfg, num_classes, rank): ``own`` is the policy's config node (None for a policy without one).
Builder = Callable[[Any, "RunConfig", int, int], "TemperaturePolicy"]


@dataclass(frozen=True)
class PolicyEntry:
    """A registered policy: its builder and the config dataclass of its node (``config.NODE`` names the node)."""

    build: Builder
    config: type | None = None  # None: no knobs of its own (RLKD reads agent/reward/calibration/exploration)

    @property
    def node(self) -> str | None:
        return None if self.config is None else self.config.NODE  # type: ignore[attr-defined]


POLICIES: Registry[PolicyEntry] = Registry("temperature policy")


def register_policy(key: str, config: type | None = None) -> Callable[[Builder], Builder]:
    """Register ``build`` under ``key`` (what ``policy.name`` selects), with the dataclass of its knobs."""
    if config is not None and not isinstance(getattr(config, "NODE", None), str):
        raise RLKDError(f"policy '{key}': its config {config.__name__} needs NODE, the name of its policy.<node>")

    def decorator(build: Builder) -> Builder:
        POLICIES.register(key)(PolicyEntry(build, config))
        return build

    return decorator


def own_config(cfg: "RunConfig", key: str) -> Any:
    """``cfg.policy.<node>`` of policy ``key`` (None when it has no knobs of its own)."""
    entry = POLICIES.get(key)
    if entry.node is None:
        return None
    own = getattr(cfg.policy, entry.node, None)
    config = entry.config
    assert config is not None
    if not isinstance(own, config):
        raise RLKDError(f"policy.{entry.node}: policy '{key}' needs a {config.__name__} there; add the field "
                        f"`{entry.node}: {config.__name__}` to rlkd.config.PolicyConfig")
    return own


def build_policy(cfg: "RunConfig", num_classes: int, rank: int = 0) -> "TemperaturePolicy":
    """The policy ``cfg.policy.name`` for a run with ``num_classes`` classes, on data-parallel rank ``rank``."""
    key = cfg.policy.name
    return POLICIES.get(key).build(own_config(cfg, key), cfg, num_classes, rank)
