"""What one sweep is: the composed tree (``rlkd_platform.conf``) checked, with absolute paths and its trials.

Hydra composes ``conf/config.yaml`` with the command line (one grammar for run keys and sweep options);
here every input is checked before Ray, MLflow or torch is touched, each failure one line naming the key.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from rlkd.config import build_config, to_dict
from rlkd.errors import RLKDError
from rlkd_platform.conf import SweepConfig, compose_sweep, run_keys
from rlkd_platform.driver.search_space import SearchSpace, check_space, space_from_node
from rlkd_platform.report.tables import table_from_node
from rlkd_platform.trial.plan import dotlist

SWEEP_OPTIONS = ("trials", "seeds", "metric", "mode", "name", "out", "workers", "cpus_per_worker", "gpus_per_worker",
                 "driver_resources", "max_concurrent", "max_failures", "asha", "asha_grace_epochs", "ray", "mlflow")


@dataclass
class Settings:
    """A checked sweep: plain values, absolute paths, the base run config every trial starts from."""

    sweep: SweepConfig
    preset: str  # the preset chosen (conf/preset/)
    space: SearchSpace | None  # the search space, when searching
    base: dict[str, Any]  # the run config every trial starts from (preset <- ablation overlay <- command line)
    rows: dict[str, dict[str, Any]]  # row (cell) name -> run-config keys (one row when searching)
    seeds: list[int]
    name: str
    out: Path
    experiment: str

    @property
    def sweep_dir(self) -> Path:
        return self.out / self.name

    @property
    def search_name(self) -> str | None:
        return self.space.name if self.space else None

    def options(self) -> dict[str, Any]:
        """The sweep options as plain values (the parent run's params and sweep.yaml), the table by name."""
        tree = OmegaConf.to_container(OmegaConf.structured(self.sweep))
        assert isinstance(tree, dict)
        options = {k: tree[k] for k in SWEEP_OPTIONS}
        a = self.sweep.ablation
        return {**options, "preset": self.preset, "search": self.search_name,
                "ablation": {"name": a.name, "table": a.table, "rows": self.rows}}

    def fingerprint(self) -> str:
        """What decides the trials; a rerun must match it to resume (address, URIs and concurrency may differ)."""
        s = self.sweep
        space = self.space
        what = {"base": self.base, "rows": self.rows, "seeds": self.seeds, "search": self.search_name,
                "space": space.describe() if space else None, "trials": s.trials if space else None,
                "metric": s.metric, "mode": s.mode, "workers": s.workers, "asha": s.asha,
                "grace": s.asha_grace_epochs, "ablation": s.ablation.name}
        return hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _seeds(value: Any) -> list[int]:
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 1:
            raise RLKDError(f"seeds={value}: give n >= 1 (seeds 0..n-1) or a list of seeds")
        return list(range(value))
    integers = isinstance(value, (list, tuple)) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    if integers and value:
        if len(set(value)) != len(value):
            raise RLKDError(f"seeds={list(value)}: each seed once")
        return list(value)
    raise RLKDError(f"seeds={value}: give n >= 1 (seeds 0..n-1) or a non-empty list of integer seeds")


def check_options(s: SweepConfig) -> None:
    """Ranges of the sweep options themselves: each failure names the key."""
    checks = [
        (s.trials >= 1, "trials", "must be >= 1"),
        (s.mode in ("max", "min"), "mode", "must be max or min"),
        (s.workers >= 1, "workers", "must be >= 1"),
        (s.cpus_per_worker > 0, "cpus_per_worker", "must be > 0"),
        (s.gpus_per_worker >= 0, "gpus_per_worker", "must be >= 0"),
        (s.max_concurrent is None or s.max_concurrent >= 1, "max_concurrent", "must be >= 1 or null"),
        (s.max_failures >= 0, "max_failures", "must be >= 0"),
        (s.asha_grace_epochs >= 1, "asha_grace_epochs", "must be >= 1"),
        (s.ray.num_cpus is None or s.ray.num_cpus >= 1, "ray.num_cpus", "must be >= 1 or null"),
        (all(v >= 0 for v in (s.driver_resources or {}).values()), "driver_resources", "amounts must be >= 0"),
        (bool(s.ablation.rows), "ablation.rows", f"ablation '{s.ablation.name}' has no rows"),
    ]
    for ok, key, message in checks:
        if not ok:
            raise RLKDError(f"{key}={OmegaConf.select(OmegaConf.structured(s), key)}: {message}")


def load_settings(argv: list[str]) -> Settings:
    """Compose and check everything a sweep needs before Ray, MLflow or torch is touched."""
    composed = compose_sweep(argv)
    s = composed.sweep
    check_options(s)
    seeds = _seeds(s.seeds)
    table = table_from_node(s.ablation)
    rows = table.cells()
    varied = {key for row in rows.values() for key in row}
    space = None
    if s.search is not None:
        space = space_from_node(s.search)
        if len(rows) > 1:
            raise RLKDError(f"search={space.name} needs a one-row ablation (e.g. ablation=baseline), "
                            f"not '{table.name}' with rows {', '.join(rows)}")
        if len(seeds) > 1:
            raise RLKDError(f"search={space.name} with seeds={seeds}: a search uses one seed; "
                            "repeat the best config over seeds as a grid afterwards")
        varied |= set(space.keys)
    clash = sorted(varied & set(composed.user_keys))
    if clash:
        raise RLKDError(f"{', '.join(clash)}: the sweep varies this key (rows or search space); drop the override")
    keys = set(run_keys())
    base = {k: v for k, v in to_dict(s).items() if k in keys}
    for row, values in rows.items():
        for seed in seeds:
            try:
                build_config(dotlist({**values, "seed": seed}), base)
            except RLKDError as err:
                raise RLKDError(f"{table.path}: row '{row}': {err}") from None
    if space is not None:
        check_space(space, base)
    name = s.name or (f"search-{space.name}-{composed.preset}" if space else f"{table.name}-{composed.preset}")
    if "/" in name or not name.strip():
        raise RLKDError(f"name={name}: use a plain folder name")
    experiment = s.mlflow.experiment or (f"search-{space.name}" if space else table.name)
    return Settings(s, composed.preset, space, base, rows, seeds, name, Path(s.out).expanduser().resolve(), experiment)
