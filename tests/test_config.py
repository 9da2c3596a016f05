"""Config validation: a bad value fails at build time with one line naming the key."""
from __future__ import annotations

import pytest

from rlkd.config import build_config
from rlkd.errors import RLKDError
from rlkd.policies import POLICIES
from rlkd.presets import load_preset


def test_defaults_are_the_papers():
    cfg = build_config()
    assert (cfg.agent.clip_eps, cfg.reward.n, cfg.exploration.lam) == (0.2, 80.0, 0.7)
    assert (cfg.exploration.high_start, cfg.exploration.partner_start, cfg.exploration.width) == (0.1, 0.4, 0.1)
    assert (cfg.optim.epochs, cfg.optim.lr, cfg.optim.milestones, cfg.data.batch_size) == (240, 0.05, [150, 180, 210], 64)
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
    with pytest.raises(RLKDError, match="unknown temperature policy 'nope'; known: ctkd_global, ctkd_instance, fixed, rlkd"):
        POLICIES.get("nope")


def test_presets_compose_and_unknown_preset_lists_known():
    cfg = build_config(["optim.epochs=2"], load_preset("quickstart"))
    assert cfg.data.name == "digits" and cfg.optim.epochs == 2
    with pytest.raises(RLKDError, match="unknown preset 'nope'; known: paper, quickstart, short"):
        load_preset("nope")
