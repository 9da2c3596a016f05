"""What one sweep is: Hydra composes ``conf/`` with the command line, then every input is checked here.

Hydra only composes (the compose API: no working-directory change, no ``outputs/`` folder, and errors we can
turn into one line); Ray Tune does the sweeping. ``key=value`` items whose first part is a ``RunConfig``
field go to ``rlkd.config.build_config`` for every trial; the rest are sweep options from ``conf/config.yaml``,
typed by the schema below (the YAML holds the defaults, the schema the types and the why).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from omegaconf import MISSING, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from rlkd.config import RunConfig, build_config, to_dict
from rlkd.errors import RLKDError
from rlkd.presets import load_preset, preset_names
from rlkd_platform.plan import dotlist

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"
RUN_KEYS = frozenset(f.name for f in dataclasses.fields(RunConfig))


@dataclass
class AblationSchema:
    name: str = MISSING  # MLflow experiment and tag rlkd.ablation
    table: str = MISSING  # which paper table the rows fill (tag rlkd.table)
    overrides: dict[str, Any] = field(default_factory=dict)  # run-config keys shared by every row
    rows: dict[str, Any] = field(default_factory=dict)  # row name -> run-config keys of that row


@dataclass
class RaySchema:
    address: Optional[str] = MISSING  # None = a local Ray for this sweep
    num_cpus: Optional[int] = MISSING
    dashboard: Optional[bool] = MISSING


@dataclass
class MlflowSchema:
    tracking_uri: Optional[str] = MISSING
    experiment: Optional[str] = MISSING


@dataclass
class SweepSchema:
    ablation: AblationSchema = MISSING
    preset: str = MISSING
    search: Optional[str] = MISSING
    trials: int = MISSING
    seeds: Any = MISSING  # a list of ints, or n
    metric: str = MISSING
    mode: str = MISSING
    name: Optional[str] = MISSING
    out: str = MISSING
    workers: int = MISSING
    cpus_per_worker: float = MISSING
    gpus_per_worker: float = MISSING
    driver_resources: Optional[dict[str, float]] = MISSING  # None = {"memory": 1}
    max_concurrent: Optional[int] = MISSING
    max_failures: int = MISSING
    asha: bool = MISSING
    asha_grace_epochs: int = MISSING
    ray: RaySchema = MISSING
    mlflow: MlflowSchema = MISSING


@dataclass
class Settings:
    """A checked sweep: plain values, absolute paths, the base run config every trial starts from."""

    sweep: SweepSchema
    run_overrides: list[str]  # the user's run-config key=value items, applied to every trial
    base: dict[str, Any]  # preset <- ablation.overrides <- run_overrides, as a RunConfig dict
    rows: dict[str, dict[str, Any]]  # row name -> run-config keys (one row when searching)
    seeds: list[int]
    name: str
    out: Path
    experiment: str

    @property
    def sweep_dir(self) -> Path:
        return self.out / self.name

    def fingerprint(self) -> str:
        """What decides the trials; a rerun must match it to resume (address, URIs and concurrency may differ)."""
        s = self.sweep
        what = {"base": self.base, "rows": self.rows, "seeds": self.seeds, "search": s.search,
                "space": _space_text(s.search), "trials": s.trials if s.search else None, "metric": s.metric,
                "mode": s.mode, "workers": s.workers, "asha": s.asha, "grace": s.asha_grace_epochs,
                "ablation": s.ablation.name}
        return hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _space_text(search: str | None) -> str | None:
    if not search:
        return None
    from rlkd_platform.search_space import load_space

    return load_space(search).path.read_text()


def _is_option(key: str) -> bool:
    """Whether ``key`` (dotted) names an option of conf/config.yaml."""
    return OmegaConf.select(OmegaConf.load(CONF_DIR / "config.yaml"), key, default="<absent>") != "<absent>"


def known_ablations() -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / "ablation").glob("*.yaml"))


def split_overrides(argv: list[str]) -> tuple[list[str], list[str]]:
    """(sweep options for Hydra, run-config overrides for rlkd.config)."""
    sweep, run = [], []
    for item in argv:
        if "=" not in item:
            raise RLKDError(f"'{item}': expected key=value (e.g. ablation=exploration, optim.epochs=5)")
        key = item.split("=", 1)[0].lstrip("+~")
        root = key.split(".")[0]
        if root == "seed":
            raise RLKDError(f"'{item}': seeds are a sweep axis here; use seeds=[{item.split('=', 1)[1]}]")
        (run if root in RUN_KEYS else sweep).append(item)
    return sweep, run


def paper_tables() -> list[str]:
    """The paper's tables in ablations/ (rlkd_platform.ablation_tables), usable as ``ablation=<name>``."""
    from rlkd_platform.ablation_tables import known_tables

    return known_tables()


def _paper_table(name: str) -> AblationSchema:
    """A table's cells (row × column, named as the MLflow report expects) become the sweep's rows."""
    from rlkd_platform.ablation_tables import load_table

    table = load_table(name)
    return AblationSchema(name=table.name, table=table.title, overrides=dict(table.overrides), rows=table.cells())


def compose(sweep_overrides: list[str]) -> SweepSchema:
    """Hydra composition of conf/ with the sweep options, errors turned into one line.

    ``ablation=<name>`` is a Hydra group option of conf/ablation/ or, failing that, a paper table of
    ablations/ (loaded by rlkd_platform.ablation_tables after composition).
    """
    from hydra import compose as hydra_compose, initialize_config_dir
    from hydra.errors import HydraException

    table = None
    for item in list(sweep_overrides):
        key, value = item.split("=", 1)
        if key.lstrip("+~") != "ablation" or value in known_ablations():
            continue
        if value not in paper_tables():
            known = sorted(set(known_ablations()) | set(paper_tables()))
            raise RLKDError(f"unknown ablation '{value}'; known: {', '.join(known)}")
        table = value
        sweep_overrides = [o for o in sweep_overrides if o != item]
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None):
            cfg = hydra_compose("config", overrides=sweep_overrides)
    except HydraException as err:
        message = str(err).splitlines()[0]
        if message.startswith("Could not override") and not _is_option(message.split("'")[1]):
            key = message.split("'")[1]
            options = sorted(k for k in OmegaConf.load(CONF_DIR / "config.yaml") if k != "defaults")
            raise RLKDError(
                f"unknown override key '{key}': not a sweep option ({', '.join(options + ['ablation'])}) "
                f"nor a run-config key ({', '.join(sorted(RUN_KEYS - {'seed', 'out_dir', 'resume'}))})"
            ) from None
        detail = " ".join(line.strip() for line in str(err).splitlines()[1:2])
        raise RLKDError(f"bad override: {message} {detail}".strip()) from None
    try:
        typed = OmegaConf.merge(OmegaConf.structured(SweepSchema), cfg)
        sweep: SweepSchema = OmegaConf.to_object(typed)  # type: ignore[assignment]
    except OmegaConfBaseException as err:
        key = getattr(err, "full_key", None) or "?"
        raise RLKDError(f"bad sweep option {key}: {str(err).splitlines()[0]}") from None
    if table is not None:
        sweep.ablation = _paper_table(table)
    return sweep


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


def check_options(s: SweepSchema) -> None:
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
    if s.preset not in preset_names():
        raise RLKDError(f"unknown preset '{s.preset}'; known: {', '.join(preset_names())}")


def load_settings(argv: list[str]) -> Settings:
    """Compose and check everything a sweep needs before Ray, MLflow or torch is touched."""
    sweep_items, run_items = split_overrides(argv)
    s = compose(sweep_items)
    check_options(s)
    seeds = _seeds(s.seeds)
    ablation = s.ablation
    rows = {str(k): dict(v or {}) for k, v in ablation.rows.items()}
    varied = {key for row in rows.values() for key in row}
    space = None
    if s.search:
        from rlkd_platform.search_space import load_space

        space = load_space(s.search)
        if len(rows) > 1:
            raise RLKDError(f"search={s.search} needs a one-row ablation (e.g. ablation=baseline), "
                            f"not '{ablation.name}' with rows {', '.join(rows)}")
        if len(seeds) > 1:
            raise RLKDError(f"search={s.search} with seeds={seeds}: a search uses one seed; "
                            "repeat the best config over seeds as a grid afterwards")
        varied |= set(space.keys)
    clash = sorted(varied & {item.split("=", 1)[0].lstrip("+~") for item in run_items})
    if clash:
        raise RLKDError(f"{', '.join(clash)}: the sweep varies this key (rows or search space); drop the override")
    base_dict = load_preset(s.preset)
    try:
        base = to_dict(build_config(dotlist(dict(ablation.overrides)) + run_items, base_dict))
        for row, values in rows.items():
            for seed in seeds:
                build_config(dotlist({**values, "seed": seed}), base)
    except RLKDError as err:
        raise RLKDError(f"{err}") from None
    if space is not None:
        from rlkd_platform.search_space import check_space

        check_space(space, base)
    name = s.name or (f"search-{space.name}-{s.preset}" if space else f"{ablation.name}-{s.preset}")
    if "/" in name or not name.strip():
        raise RLKDError(f"name={name}: use a plain folder name")
    experiment = s.mlflow.experiment or (f"search-{space.name}" if space else ablation.name)
    return Settings(s, run_items, base, rows, seeds, name, Path(s.out).expanduser().resolve(), experiment)
