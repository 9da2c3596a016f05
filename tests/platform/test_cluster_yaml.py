"""cluster.yaml checked offline by the validator `ray up` runs (prepare_config + validate_config), no cloud access."""
from __future__ import annotations

import copy

import jsonschema
import pytest
import yaml
from platform_helpers import ROOT

# Private Ray API, the same pair `ray up` calls; Ray is pinned (2.60.0) so it does not move under us.
from ray.autoscaler._private.util import prepare_config, validate_config


def load() -> dict:
    return yaml.safe_load((ROOT / "cluster.yaml").read_text())


def validate(cfg: dict) -> None:
    validate_config(prepare_config(copy.deepcopy(cfg)))


def test_cluster_yaml_is_valid():
    cfg = load()
    validate(cfg)
    head = cfg["available_node_types"][cfg["head_node_type"]]
    assert head["resources"]["TRAIN_DRIVER"] > 0 and head["resources"]["CPU"] == 0
    assert cfg["docker"]["image"].startswith("rayproject/ray:2.60.0-py311")  # the client's Ray and Python
    assert any("mlflow server" in c for c in cfg["head_start_ray_commands"])
    assert any("pip install" in c and "rlkd-sweep" in c for c in cfg["setup_commands"])


def test_typo_is_caught():
    cfg = load()
    worker = cfg["available_node_types"]["gpu_worker"]
    worker["min_worker"] = worker.pop("min_workers")
    with pytest.raises(jsonschema.ValidationError, match="min_worker"):
        validate(cfg)


@pytest.mark.parametrize("break_it", [
    lambda c: c.update(head_node_type="headd"),
    lambda c: c["available_node_types"]["gpu_worker"]["resources"].update(GPU="one"),
])
def test_cross_field_and_type_errors_are_caught(break_it):
    cfg = load()
    break_it(cfg)
    with pytest.raises((jsonschema.ValidationError, ValueError)):
        validate(cfg)
