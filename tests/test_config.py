"""Config validation: a bad value fails at build time with one line naming the key."""
from __future__ import annotations

import pytest

from rlkd.compose import compose_run
from rlkd.config import build_config
from rlkd.errors import RLKDError
from rlkd.policies import POLICIES


def test_defaults_are_the_papers():
    cfg = build_config()
    assert (cfg.agent.clip_eps, cfg.reward.n, cfg.exploration.lam) == (0.2, 80.0, 0.7)
    assert (cfg.exploration.high_start, cfg.exploration.partner_start, cfg.exploration.width) == (0.1, 0.4, 0.1)
    optim = (cfg.optim.epochs, cfg.optim.lr, cfg.optim.milestones, cfg.data.batch_size)
    assert optim == (240, 0.05, [150, 180, 210], 64)
    assert (cfg.calibration.alpha, cfg.calibration.beta, cfg.calibration.mode) == (1.0, 0.5, "full")


@pytest.mark.parametrize(
    "override, key",
    [
        (["exploration.high_start=0.35"], "overlap"),  # [.35,.45) overlaps [.4,.5)
        (["exploration.partner_start=0.95"], "exploration.partner_start"),  # leaves [0, 1]
        (["exploration.high_start=-0.1"], "exploration.high_start"),
        (["agent.clip_eps=0"], "agent.clip_eps"),
        (["agent.clip_eps=-0.2"], "agent.clip_eps"),
        (["reward.n=0"], "reward.n"),
        (["reward.n=-5"], "reward.n"),
        (["calibration.mode=bogus"], "calibration.mode"),
        (["agent.state=bogus"], "agent.state"),
        (["optim.lr=0"], "optim.lr"),
        (["no_such.key=1"], "bad config override"),
        (["agent.clip_eps=abc"], "bad config override"),
    ],
)
def test_bad_values_fail_with_one_line_naming_the_key(override, key):
    with pytest.raises(RLKDError) as err:
        build_config(override)
    assert key in str(err.value) and "\n" not in str(err.value)


def test_every_policy_is_registered():
    assert POLICIES.names() == ["ctkd_global", "ctkd_instance", "fixed", "rlkd"]
    message = "unknown temperature policy 'nope'; known: ctkd_global, ctkd_instance, fixed, rlkd"
    with pytest.raises(RLKDError, match=message):
        POLICIES.get("nope")


def test_presets_compose_and_unknown_preset_lists_known():
    cfg = compose_run(["preset=quickstart", "optim.epochs=2"])
    assert cfg.data.name == "digits" and cfg.optim.epochs == 2 and cfg.optim.milestones == [8, 10]
    assert compose_run(["preset=short"]).data.name == "cifar100_npz"
    with pytest.raises(RLKDError, match="unknown preset 'nope'; known: paper, quickstart, short, tiny"):
        compose_run(["preset=nope"])


CHOICES = {
    "agent.state": ("paper", "no_uncertainty", "official"), "agent.logprob": ("paper", "official"),
    "reward.signal": ("paper", "official"), "reward.scale": ("paper", "official"),
    "calibration.mode": ("none", "corrector", "full", "official"), "calibration.cell": ("lstm", "gru"),
    "exploration.lam_schedule": ("paper", "official"), "exploration.target": ("paper", "official"),
    "exploration.schedule": ("paper", "official"), "device": ("auto", "cpu", "cuda"),
}


def select(cfg, key: str):
    for part in key.split("."):
        cfg = getattr(cfg, part)
    return cfg


@pytest.mark.parametrize("key", sorted(CHOICES))
def test_string_choices_are_enums_that_parse_as_written(key):
    from enum import Enum

    for value in CHOICES[key]:
        chosen = select(build_config([f"{key}={value}"]), key)
        assert isinstance(chosen, Enum) and chosen.value == value and chosen == value and f"{chosen}" == value
    with pytest.raises(RLKDError) as err:
        build_config([f"{key}=bogus"])
    message = str(err.value)
    assert key in message and all(v in message for v in CHOICES[key]) and "\n" not in message


def test_choices_leave_the_config_as_plain_strings():
    """Logged, hashed and JSON-dumped trees hold the values, and a config built in code may pass plain strings."""
    import json

    from rlkd.config import CalibrationConfig, CalibrationMode, to_dict

    tree = to_dict(build_config(["calibration.mode=none"]))
    assert type(tree["calibration"]["mode"]) is str and tree["calibration"]["mode"] == "none"
    assert json.loads(json.dumps(tree)) == tree
    assert build_config([], tree) == build_config(["calibration.mode=none"])  # a logged tree rebuilds the run
    assert CalibrationConfig(mode="corrector").mode is CalibrationMode.corrector
    with pytest.raises(RLKDError, match="calibration.mode: 'bogus' is not one of none, corrector, full, official"):
        CalibrationConfig(mode="bogus")
