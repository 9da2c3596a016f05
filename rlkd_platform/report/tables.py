"""The paper's tables as sweeps: one YAML file per table in ``ablations/`` (a new table is one file).

A file holds the sweep definition (``overrides`` shared by all runs, ``rows`` and optional ``columns``, each a
set of run-config keys; a cell is a row × column), the paper's values where they could be read (``paper``,
cited in ``source``) and peer-reported baselines (``peer``, each with its source). Every cell of the product
is one grid entry of the sweep, tagged ``rlkd.row = "<row> | <column>"``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rlkd.errors import RLKDError
from rlkd_platform.conf import ABLATIONS_DIR, read_ablation

CELL_SEP = " | "
SINGLE_COLUMN = "top-1"


def known_tables() -> list[str]:
    return sorted(p.stem for p in ABLATIONS_DIR.glob("*.yaml"))


@dataclass
class AblationTable:
    name: str
    title: str
    source: str
    overrides: dict[str, Any]
    rows: dict[str, dict[str, Any]]
    columns: dict[str, dict[str, Any]]
    paper: dict[str, Any]
    peer: list[dict[str, Any]]
    path: str = ""
    single_column: str = SINGLE_COLUMN

    def column_names(self) -> list[str]:
        return list(self.columns) or [SINGLE_COLUMN]

    def cells(self) -> dict[str, dict[str, Any]]:
        """Grid entries of the sweep: cell name → the row's keys updated by the column's."""
        if not self.columns:
            return {row: dict(keys) for row, keys in self.rows.items()}
        return {f"{row}{CELL_SEP}{col}": {**rk, **ck}
                for row, rk in self.rows.items() for col, ck in self.columns.items()}

    def split_cell(self, cell: str) -> tuple[str, str]:
        row, _, column = cell.partition(CELL_SEP)
        return row, column or SINGLE_COLUMN

    def paper_value(self, row: str, column: str) -> float | None:
        value = self.paper.get(row)
        if isinstance(value, dict):
            value = value.get(column)
        return None if value is None else float(value)

    def peer_value(self, row: str, column: str) -> tuple[float, str] | None:
        for entry in self.peer:
            if entry["row"] == row and entry.get("column", SINGLE_COLUMN) == column:
                return float(entry["value"]), str(entry["source"])
        return None

    def check(self) -> None:
        """Paper and peer entries must name existing rows and columns (a typo would silently show '?')."""
        columns = set(self.column_names())
        for row, value in self.paper.items():
            bad_cols = set(value) - columns if isinstance(value, dict) else set()
            if row not in self.rows or bad_cols:
                raise RLKDError(f"{self.path}: paper entry '{row}' {sorted(bad_cols) or ''} names no row/column "
                                "of the table")
        for entry in self.peer:
            if entry["row"] not in self.rows or entry.get("column", SINGLE_COLUMN) not in columns:
                raise RLKDError(f"{self.path}: peer entry {entry['row']} / {entry.get('column')} names no row/column")


def table_from_node(node: Any) -> AblationTable:
    """A table from its file's contents (a composed ``ablation`` node or the file read directly)."""
    get = node.get if isinstance(node, dict) else lambda key, default=None: getattr(node, key, default)
    table = AblationTable(
        name=str(get("name")), title=str(get("table") or get("name")), source=get("source") or "",
        overrides=dict(get("overrides") or {}), rows={str(k): dict(v or {}) for k, v in (get("rows") or {}).items()},
        columns={str(k): dict(v or {}) for k, v in (get("columns") or {}).items()},
        paper=dict(get("paper") or {}), peer=list(get("peer") or []), path=get("path") or "",
    )
    table.check()
    return table


def load_table(name: str) -> AblationTable:
    path = ABLATIONS_DIR / f"{name}.yaml"
    if not path.exists():
        raise RLKDError(f"unknown ablation '{name}'; known: {', '.join(known_tables())}")
    return table_from_node({**read_ablation(path), "path": str(path)})
