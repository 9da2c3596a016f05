"""Search spaces: one YAML file per space in ``search_spaces/``, turned into Ray Tune domains for Optuna.

A space names run-config keys and a distribution for each. It is checked before any trial starts: every
endpoint and choice must give a valid ``RunConfig`` on top of the sweep's base config, and so must every
combination of choices and range corners (the exploration windows, for one, must not overlap), so an
impossible range fails in the driver with one line instead of as N failed trials.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlkd.config import build_config
from rlkd.errors import RLKDError
from rlkd_platform.trial.plan import dotlist

KINDS = ("uniform", "loguniform", "randint", "choice")
MAX_COMBINATIONS = 256  # corners × choices of one section checked jointly; beyond this one knob at a time


@dataclass(frozen=True)
class Knob:
    key: str  # a run-config key, e.g. agent.clip_eps
    kind: str  # one of KINDS
    args: tuple[Any, ...]  # (low, high) or the choices

    def candidates(self) -> list[Any]:
        """The values that bound what the knob can take: both ends of a range, every choice."""
        return list(self.args) if self.kind == "choice" else [self.args[0], self.args[1]]

    def to_tune(self) -> Any:
        from ray import tune

        if self.kind == "choice":
            return tune.choice(list(self.args))
        return {"uniform": tune.uniform, "loguniform": tune.loguniform, "randint": tune.randint}[self.kind](*self.args)


@dataclass(frozen=True)
class SearchSpace:
    name: str
    path: Path
    knobs: tuple[Knob, ...]
    first: dict[str, Any] | None  # evaluated before the sampler takes over (the paper's defaults)

    def describe(self) -> str:
        """What the space searches, for a sweep's fingerprint (a changed range is another sweep)."""
        return repr((self.knobs, sorted((self.first or {}).items())))

    @property
    def keys(self) -> list[str]:
        return [k.key for k in self.knobs]

    def to_tune(self) -> dict[str, Any]:
        return {k.key: k.to_tune() for k in self.knobs}


def _knob(key: str, spec: Any, where: str) -> Knob:
    if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in KINDS:
        raise RLKDError(f"{where}: {key} must be one of {{{': ..., '.join(KINDS)}: ...}}, got {spec!r}")
    kind, args = next(iter(spec.items()))
    args = tuple(args) if isinstance(args, (list, tuple)) else (args,)
    if kind == "choice":
        if not args:
            raise RLKDError(f"{where}: {key} choice needs at least one value")
        return Knob(key, kind, args)
    if len(args) != 2 or not all(isinstance(a, (int, float)) and not isinstance(a, bool) for a in args):
        raise RLKDError(f"{where}: {key} {kind} needs [low, high] numbers, got {list(args)}")
    low, high = args
    if not low < high:
        raise RLKDError(f"{where}: {key} {kind} range [{low}, {high}] is empty; low must be below high")
    if kind == "loguniform" and low <= 0:
        raise RLKDError(f"{where}: {key} loguniform needs low > 0, got {low}")
    if kind == "randint" and not all(isinstance(a, int) for a in args):
        raise RLKDError(f"{where}: {key} randint needs integer bounds, got {list(args)}")
    return Knob(key, kind, (low, high))


def space_from_node(node: Any) -> SearchSpace:
    """The composed ``search`` node (rlkd_platform.conf: one file of search_spaces/ or a path) as a checked space."""
    path = Path(node.path)
    where = f"search space {path.name}"
    params, first = node.params, node.first
    if not isinstance(params, dict) or not params:
        raise RLKDError(f"{where}: needs a non-empty 'params:' mapping of run-config keys to distributions")
    knobs = tuple(_knob(str(k), v, where) for k, v in params.items())
    if first is not None and (not isinstance(first, dict) or set(first) != {k.key for k in knobs}):
        raise RLKDError(f"{where}: 'first' must give exactly the searched keys {[k.key for k in knobs]}")
    return SearchSpace(node.name, path, knobs, first)


def check_space(space: SearchSpace, base: dict[str, Any]) -> None:
    """Every value the space can produce must build a valid run config on top of ``base``."""
    where = f"search space {space.path.name}"
    for knob in space.knobs:
        for value in knob.candidates():
            try:
                build_config([f"{knob.key}={value}"], base)
            except RLKDError as err:
                raise RLKDError(f"{where}: {knob.key}={value} is impossible: {err}") from None
    # Range checks live in each config section's __post_init__, so only knobs of one section can conflict
    # (the exploration windows): check their joint corners and choices, section by section.
    for section in sorted({k.key.split(".")[0] for k in space.knobs}):
        knobs = [k for k in space.knobs if k.key.split(".")[0] == section]
        grids = [k.candidates() for k in knobs]
        if len(knobs) < 2 or _product_size(grids) > MAX_COMBINATIONS:
            continue
        for combo in itertools.product(*grids):
            values = dict(zip([k.key for k in knobs], combo))
            try:
                build_config(dotlist(values), base)
            except RLKDError as err:
                shown = ", ".join(f"{k}={v}" for k, v in values.items())
                raise RLKDError(f"{where}: the combination {shown} is impossible: {err}; narrow the ranges") from None
    if space.first is not None:
        try:
            build_config(dotlist(space.first), base)
        except RLKDError as err:
            raise RLKDError(f"{where}: 'first' is impossible: {err}") from None


def _product_size(grids: list[list[Any]]) -> int:
    size = 1
    for g in grids:
        size *= len(g)
    return size
