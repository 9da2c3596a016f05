"""Which trials a sweep has, and the run config of each.

A trial's Tune config is flat and small: ``seed``, and either ``row`` (a grid over an ablation's rows) or the
searched run-config keys themselves (``agent.clip_eps``…, sampled by Optuna). The full run config is rebuilt
inside the trial from the sweep's base config, so params in Tune stay readable and infra values stay out.
Precedence: preset <- ablation overrides <- user overrides (the base) <- row <- searched knobs and seed.
"""
from __future__ import annotations

import json
from typing import Any

from rlkd.config import RunConfig, build_config

ROW_KEY = "row"


def dotlist(values: dict[str, Any]) -> list[str]:
    """key=value items for build_config; JSON spells bools, None and lists the way OmegaConf parses them."""
    return [f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in values.items()]


def grid_space(rows: dict[str, dict[str, Any]], seeds: list[int]) -> dict[str, Any]:
    """Every row × every seed, once each (Tune's grid_search, num_samples=1)."""
    from ray import tune

    return {ROW_KEY: tune.grid_search(list(rows)), "seed": tune.grid_search(list(seeds))}


def search_space(knobs: dict[str, Any], seed: int) -> dict[str, Any]:
    return {"seed": seed, **knobs}


def trial_overrides(config: dict[str, Any], rows: dict[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """(row name, run-config keys) of one trial's Tune config."""
    row = config.get(ROW_KEY) or next(iter(rows))
    values = dict(rows[row])
    values.update({k: v for k, v in config.items() if k != ROW_KEY})
    return row, values


def trial_config(base: dict[str, Any], rows: dict[str, dict[str, Any]],
                 config: dict[str, Any]) -> tuple[str, RunConfig]:
    row, values = trial_overrides(config, rows)
    return row, build_config(dotlist(values), base)


def run_name(row: str, config: dict[str, Any], searched: bool, trial_id: str) -> str:
    """What the MLflow UI lists: the table row and seed for grids, the trial id for searches."""
    return f"{trial_id}" if searched else f"{row}-seed{config.get('seed', 0)}"
