"""The platform's half of the Hydra tree: the sweep's typed options and the ``ablation`` and ``search`` groups.

``conf/config.yaml`` composes ``sweep_schema`` (the run config plus the sweep options below), a ``preset``,
an ``ablation`` and an optional ``search``. The design card's folders stay where users look: each
``ablations/<name>.yaml`` is the ``ablation`` option ``<name>`` and each ``search_spaces/<name>.yaml`` the
``search`` option ``<name>``, stored in Hydra's ConfigStore when a command composes. An ablation is an overlay
(lightning-hydra-template's experiments): its ``overrides`` (run-config keys shared by every row) land on the
run config under the command line's own overrides, and its rows are data the driver turns into a grid.
A file that cannot be read stays selectable and fails, when selected, with one line naming it.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from omegaconf import MISSING, OmegaConf

from rlkd.compose import PROJECT_ROOT, compose, parse_overrides, to_typed
from rlkd.config import RunConfig
from rlkd.errors import RLKDError

ABLATIONS_DIR = PROJECT_ROOT / "ablations"
SEARCH_DIR = PROJECT_ROOT / "search_spaces"
ABLATION_KEYS = ("name", "table", "source", "overrides", "rows", "columns", "paper", "peer")
SEARCH_KEYS = ("params", "first")


@dataclass
class AblationNode:
    """One ``ablations/<name>.yaml``: a table's rows (and columns) as run-config keys, and the paper's numbers."""

    name: str = MISSING  # MLflow experiment and tag rlkd.ablation; equals the file's stem
    table: str = "none"  # the paper table's title (tag rlkd.table)
    source: str = ""  # where the paper's numbers were read
    overrides: Dict[str, Any] = field(default_factory=dict)  # run-config keys shared by every row (an overlay)
    rows: Dict[str, Any] = field(default_factory=dict)  # row name -> run-config keys of that row
    columns: Dict[str, Any] = field(default_factory=dict)  # column name -> run-config keys; a cell = row × column
    paper: Dict[str, Any] = field(default_factory=dict)  # row -> value or {column: value}
    peer: List[Any] = field(default_factory=list)  # peer-reported baselines, each {row, column, value, source}
    path: str = ""  # the file it came from (for messages)
    error: Optional[str] = None  # set when the file could not be read: raised when the ablation is selected


@dataclass
class SearchNode:
    """One ``search_spaces/<name>.yaml``: run-config keys and a distribution for each (driver.search_space)."""

    name: str = MISSING
    path: str = MISSING
    params: Any = None
    first: Any = None
    error: Optional[str] = None


@dataclass
class RayOptions:
    address: Optional[str] = None  # None = a local Ray for this sweep; "auto" or host:port = a running cluster
    num_cpus: Optional[int] = None  # local Ray only; None = every core
    dashboard: Optional[bool] = None  # None = on when needed (ASHA or multi-worker trials free resources through it)


@dataclass
class MlflowOptions:
    tracking_uri: Optional[str] = None  # None = a local mlflow server over <out>/mlflow.db
    experiment: Optional[str] = None  # None = the ablation's name, or search-<space>


@dataclass
class SweepConfig(RunConfig):
    """A sweep: the run config every trial starts from, plus how to sweep it (defaults: conf/config.yaml)."""

    ablation: AblationNode = field(default_factory=AblationNode)
    search: Optional[SearchNode] = None
    trials: int = MISSING
    seeds: Any = MISSING  # a list of ints, or n for seeds 0..n-1
    metric: str = MISSING
    mode: str = MISSING
    name: Optional[str] = MISSING
    out: str = MISSING
    workers: int = MISSING
    cpus_per_worker: float = MISSING
    gpus_per_worker: float = MISSING
    driver_resources: Optional[Dict[str, float]] = MISSING  # None = {"memory": 1}
    max_concurrent: Optional[int] = MISSING
    max_failures: int = MISSING
    asha: bool = MISSING
    asha_grace_epochs: int = MISSING
    ray: RayOptions = field(default_factory=RayOptions)
    mlflow: MlflowOptions = field(default_factory=MlflowOptions)


def run_keys() -> list[str]:
    """The run config's top-level fields: what a sweep's tree shares with ``python -m rlkd.train``."""
    import dataclasses

    return [f.name for f in dataclasses.fields(RunConfig)]


def nested(flat: dict[str, Any]) -> dict[str, Any]:
    """{"a.b": 1} -> {"a": {"b": 1}}: an ablation's dotted overrides as an overlay."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        node = out
        *parents, leaf = str(key).split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def read_yaml(path: Path) -> dict[str, Any]:
    """A YAML mapping, or RLKDError naming the file and what is wrong."""
    try:
        raw = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    except Exception as err:  # yaml.YAMLError, OmegaConf errors: any unreadable file is the user's to fix
        first = " ".join(str(err).split())[:200]
        raise RLKDError(f"{path}: not valid YAML ({first}); fix the file") from None
    if not isinstance(raw, dict):
        raise RLKDError(f"{path}: must be a mapping of keys (name, rows, ...), got {type(raw).__name__}")
    return {str(k): v for k, v in raw.items()}


def read_ablation(path: Path) -> dict[str, Any]:
    """An ablation file checked for shape (keys, rows and columns as mappings of mappings, name = stem)."""
    raw = read_yaml(path)
    unknown = sorted(set(raw) - set(ABLATION_KEYS))
    if unknown:
        raise RLKDError(f"{path}: unknown keys {unknown}; allowed: {', '.join(ABLATION_KEYS)}")
    if raw.get("name") != path.stem:
        raise RLKDError(f"{path}: its name field says {raw.get('name')!r}; make it '{path.stem}' (the file's name)")
    for key in ("overrides", "rows", "columns", "paper"):
        if not isinstance(raw.get(key) or {}, dict):
            raise RLKDError(f"{path}: '{key}' must be a mapping (name: {{run.key: value}}), not a "
                            f"{type(raw[key]).__name__}")
    for key in ("rows", "columns"):
        for entry, keys in (raw.get(key) or {}).items():
            if not isinstance(keys or {}, dict):
                raise RLKDError(f"{path}: {key[:-1]} '{entry}' must map run-config keys to values, e.g. "
                                "{exploration.enabled: true}")
    if not raw.get("rows"):
        raise RLKDError(f"{path}: 'rows' is empty; give at least one row")
    return raw


def _ablation_node(path: Path) -> dict[str, Any]:
    try:
        raw = read_ablation(path)
    except RLKDError as err:
        return {"ablation": {"name": path.stem, "path": str(path), "error": str(err)}}
    node = {k: raw[k] for k in ABLATION_KEYS if raw.get(k) is not None}
    node["rows"] = {str(k): dict(v or {}) for k, v in raw["rows"].items()}
    node["columns"] = {str(k): dict(v or {}) for k, v in (raw.get("columns") or {}).items()}
    node["path"] = str(path)
    return {"ablation": node, **nested(dict(raw.get("overrides") or {}))}


def _search_node(path: Path, name: str) -> dict[str, Any]:
    node: dict[str, Any] = {"name": name, "path": str(path)}
    try:
        raw = read_yaml(path)
        unknown = sorted(set(raw) - set(SEARCH_KEYS))
        if unknown:
            raise RLKDError(f"search space {path.name}: unknown top-level keys {unknown}; allowed: params, first")
        node.update(params=raw.get("params"), first=raw.get("first"))
    except RLKDError as err:
        node["error"] = str(err)
    return node


def register(search_files: Sequence[Path] = ()) -> None:
    """Store every ablation and search space (and any search file given by path) as Hydra group options."""
    from hydra.core.config_store import ConfigStore

    cs = ConfigStore.instance()
    cs.store(name="sweep_schema", node=SweepConfig)
    for path in sorted(ABLATIONS_DIR.glob("*.yaml")):
        cs.store(group="ablation", name=path.stem, node=_ablation_node(path), package="_global_")
    for path in sorted(SEARCH_DIR.glob("*.yaml")):
        cs.store(group="search", name=path.stem, node=_search_node(path, path.stem))
    for path in search_files:
        cs.store(group="search", name=file_option(path), node=_search_node(path, path.stem))


def file_option(path: Path) -> str:
    """The group option under which a search file given by path is stored."""
    return "file_" + hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:10]


@dataclass
class Composed:
    """A composed sweep tree: typed, with the user's own override keys and the groups chosen."""

    sweep: SweepConfig
    user_keys: list[str]  # run-config keys the command line set (a row may not vary them)
    preset: str
    ablation: str


def compose_sweep(argv: Sequence[str]) -> Composed:
    """``run_sweep.py``'s and the report's one composition; errors are one line."""
    items = parse_overrides(argv)
    if any(i.key == "seed" for i in items):
        seed = next(i.value for i in items if i.key == "seed")
        raise RLKDError(f"'seed={seed}': seeds are a sweep axis here; use seeds=[{seed}]")
    files, texts = [], []
    for item in items:
        value = str(item.value)
        if item.key == "search" and value.endswith((".yaml", ".yml")):
            path = Path(value).expanduser().resolve()
            if not path.is_file():
                raise RLKDError(f"search={value}: no such file")
            files.append(path)
            texts.append(f"search={file_option(path)}")
        else:
            texts.append(item.text)
    register(files)
    hint = "sweep options: python run_sweep.py --help; run-config keys: python -m rlkd.train --print-config"
    cfg, choices = compose("config", texts, known_keys_hint=hint)
    sweep: SweepConfig = to_typed(cfg, SweepConfig)
    for node in (sweep.ablation, sweep.search):
        if node is not None and node.error:
            raise RLKDError(node.error)
    roots = set(run_keys())
    user_keys = [i.key for i in items if i.key.split(".")[0] in roots]
    return Composed(sweep, user_keys, str(choices.get("preset")), str(choices.get("ablation")))
