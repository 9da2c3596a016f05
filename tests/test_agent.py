"""Hand-computed checks of every RLKD formula (values worked out on paper in the comments)."""
from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rlkd.agent import (
    RLKDAgent,
    clipped_policy_loss,
    corrector_loss,
    gae,
    instance_state,
    official_scale,
    redistribute,
    return_targets,
    temperature,
    updater_loss,
    warmup_factor,
)
from rlkd.agent.calibration import RewardCalibrator
from rlkd.config import AgentConfig, CalibrationConfig
from rlkd.errors import RLKDError

LN = math.log


def test_instance_state_by_hand():
    # teacher p = softmax(ln[7,1,1,1]) = [.7,.1,.1,.1] -> max .7
    # student p = softmax(ln[4,3,2,1]) = [.4,.3,.2,.1] -> top1 .4, top2 .3 -> uncertainty 1-(.4-.3) = .9
    zt = torch.tensor([[LN(7), 0.0, 0.0, 0.0]])
    zs = torch.tensor([[LN(4), LN(3), LN(2), LN(1)]])
    assert torch.allclose(instance_state(zt, zs), torch.tensor([[0.7, 0.4, 0.9]]), atol=1e-6)
    # official: top1 - kthvalue(2) = .4 - .2 (the 2nd *smallest*) = .2
    assert torch.allclose(instance_state(zt, zs, "official"), torch.tensor([[0.7, 0.4, 0.2]]), atol=1e-6)
    assert torch.allclose(instance_state(zt, zs, "no_uncertainty"), torch.tensor([[0.7, 0.4]]), atol=1e-6)


def test_uncertainty_is_one_on_a_tie_and_zero_when_certain():
    zs = torch.tensor([[0.0, 0.0, -50.0], [50.0, 0.0, 0.0]])
    s = instance_state(torch.zeros(2, 3), zs)
    assert torch.allclose(s[:, 2], torch.tensor([1.0, 0.0]), atol=1e-6)


def test_nan_logits_are_rejected_with_one_line():
    zs = torch.tensor([[float("nan"), 0.0]])
    with pytest.raises(RLKDError, match="NaN or inf logits reached the RLKD agent") as err:
        instance_state(torch.zeros(1, 2), zs)
    assert "\n" not in str(err.value)


def test_temperature_is_ten_sigmoid():
    # sigmoid(0)=.5 -> 5; sigmoid(ln 3)=3/4 -> 7.5; sigmoid(-ln 3)=1/4 -> 2.5
    a = torch.tensor([0.0, LN(3), -LN(3)])
    assert torch.allclose(temperature(a), torch.tensor([5.0, 7.5, 2.5]))


def test_reward_warmup_and_official_scale():
    assert warmup_factor(0, 80) == pytest.approx(0.5)
    assert warmup_factor(80, 80) == pytest.approx(1 / (1 + math.exp(-1)))  # sigmoid(1) = 0.7310586
    assert official_scale(20) == pytest.approx(18.3457, abs=1e-4)  # 10*(1+(1+cos(20π/75))/2)
    assert official_scale(160) == pytest.approx(6.25)  # 5*(1+(1+cos(16π/3))/2), cos = -1/2
    assert official_scale(240) == 1.0


# A 4-instance batch: predictions Ĝ = [.1,.2,.4,.3], r_b = .5, γ = .5 -> G_i = γ^(4-i)·r_b = [.0625,.125,.25,.5]
PRED = torch.tensor([0.1, 0.2, 0.4, 0.3])
G = torch.tensor([0.0625, 0.125, 0.25, 0.5])


def test_return_targets_by_hand():
    assert torch.allclose(return_targets(0.5, 4, 0.5), G)


def test_corrector_loss_by_hand():
    # α(Ĝ_B - r_b)² = (.3-.5)² = .04 ; Σ(Ĝ-G)² = .0375²+.075²+.15²+.2² = .06953125 ; β/B·Σ = .5/4·.06953125
    expected = 0.04 + 0.5 / 4 * 0.06953125  # = 0.04869140625
    assert corrector_loss(PRED, 0.5, G, alpha=1.0, beta=0.5).item() == pytest.approx(expected)


def test_redistribution_by_hand():
    # diffs [.1,.1,.2,-.1] sum .3; each += (.5-.3)/4 = .05 -> [.15,.15,.25,-.05]
    assert torch.allclose(redistribute(PRED, 0.5), torch.tensor([0.15, 0.15, 0.25, -0.05]))


def test_updater_loss_by_hand():
    # (0-.0625)²+(.1-.125)²+(.3-.25)²+(.5-.5)² = .00390625+.000625+.0025+0 ; mean = .0017578125
    assert updater_loss(torch.tensor([0.0, 0.1, 0.3, 0.5]), G).item() == pytest.approx(0.0017578125)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-5, 5), min_size=1, max_size=70), st.floats(-3, 3))
def test_redistribution_conserves_the_batch_reward(preds, batch_reward):
    rewards = redistribute(torch.tensor(preds, dtype=torch.float64), batch_reward)
    assert rewards.sum().item() == pytest.approx(batch_reward, abs=1e-9)


@pytest.mark.parametrize("mode", ["corrector", "full"])
@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 1000), batch_reward=st.floats(-2, 2))
def test_calibrated_rewards_sum_to_the_batch_reward(mode, seed, batch_reward):
    torch.manual_seed(seed)
    cal = RewardCalibrator(CalibrationConfig(mode=mode, corrector_steps=2, updater_steps=2), 3, 0.99)
    rewards, _ = cal.calibrate(torch.rand(16, 3), torch.randn(16), batch_reward)
    assert rewards.sum().item() == pytest.approx(batch_reward, abs=1e-5)
    assert rewards.std() > 0  # spread over instances, not dumped on one step


def test_no_calibration_puts_the_reward_on_the_last_step():
    cal = RewardCalibrator(CalibrationConfig(mode="none"), 3, 0.99)
    rewards, _ = cal.calibrate(torch.rand(4, 3), torch.randn(4), 0.5)
    assert rewards.tolist() == [0.0, 0.0, 0.0, 0.5]


def test_gae_by_hand():
    # γ=λ=.5, rewards [1,0,2], V [.5,.2,.1], bootstrap V(last) = .1 -> next V [.2,.1,.1]
    # δ = [1+.1-.5, 0+.05-.2, 2+.05-.1] = [.6,-.15,1.95]; A2=1.95, A1=-.15+.25·1.95=.3375, A0=.6+.25·.3375=.684375
    adv, ret = gae(torch.tensor([1.0, 0.0, 2.0]), torch.tensor([0.5, 0.2, 0.1]), torch.tensor(0.1), 0.5, 0.5)
    assert torch.allclose(adv, torch.tensor([0.684375, 0.3375, 1.95]))
    assert torch.allclose(ret, torch.tensor([1.184375, 0.5375, 2.05]))


def test_clipped_policy_loss_by_hand():
    # ratio [1.5,.5,1], A [1,1,-2], ε=.2: max(-A·r, -A·clip r) = [max(-1.5,-1.2), max(-.5,-.8), max(2,2)]
    # = [-1.2,-.5,2] -> mean .1; clipfrac 2/3; approx_kl = mean((r-1)-ln r) = (.5-ln1.5 - .5+ln2)/3
    old = torch.zeros(3)
    new = torch.log(torch.tensor([1.5, 0.5, 1.0]))
    loss, stats = clipped_policy_loss(new, old, torch.tensor([1.0, 1.0, -2.0]), 0.2)
    assert loss.item() == pytest.approx(0.1, abs=1e-6)
    assert stats["ppo/clipfrac"] == pytest.approx(2 / 3)
    assert stats["ppo/approx_kl"] == pytest.approx((0.5 - LN(1.5) - 0.5 + LN(2)) / 3, abs=1e-6)


def test_batched_acting_equals_a_per_instance_loop():
    torch.manual_seed(0)
    agent = RLKDAgent(AgentConfig(), CalibrationConfig())
    states = torch.rand(8, 3)
    temps, record = agent.act(states)
    dist = agent.actor.distribution(record["states"])
    for i in range(8):  # the official code's loop: one actor call per instance
        row = agent.actor.distribution(agent.calibrator.transform_state(states[i : i + 1]))
        assert torch.allclose(row.mean, dist.mean[i : i + 1], atol=1e-6)
        assert torch.allclose(row.log_prob(record["actions"][i : i + 1]), record["logprobs"][i : i + 1], atol=1e-6)
        assert torch.allclose(temperature(record["actions"][i]), temps[i])


def test_official_logprob_is_the_density_at_t():
    agent = RLKDAgent(AgentConfig(logprob="official"), CalibrationConfig())
    temps, record = agent.act(torch.rand(4, 3))
    dist = agent.actor.distribution(record["states"])
    assert torch.allclose(record["logprobs"], dist.log_prob(temps))


def test_agent_update_moves_the_policy_and_is_seeded():
    def run() -> tuple[torch.Tensor, dict]:
        torch.manual_seed(0)
        agent = RLKDAgent(AgentConfig(), CalibrationConfig(), seed=3)
        temps, record = agent.act(torch.rand(16, 3))
        before = agent.actor.mu[0].weight.clone()
        stats = agent.learn(record, 0.3)
        assert not torch.equal(before, agent.actor.mu[0].weight)
        return temps, stats

    (t1, s1), (t2, s2) = run(), run()
    assert torch.equal(t1, t2) and s1 == s2
    # Values, not just names. After 5 epochs on one buffer the last epoch's ratio differs from 1, so
    # approx_kl = mean((r − 1) − ln r) > 0 (each term is ≥ 0); clipfrac is a fraction of the 16 instances.
    assert math.isfinite(s1["ppo/approx_kl"]) and s1["ppo/approx_kl"] > 0
    n_clipped = s1["ppo/clipfrac"] * 16
    assert 0.0 <= s1["ppo/clipfrac"] <= 1.0 and n_clipped == pytest.approx(round(n_clipped))
    assert math.isfinite(s1["ppo/explained_variance"]) and s1["ppo/explained_variance"] <= 1.0
    assert math.isfinite(s1["ppo/value_loss"]) and s1["ppo/value_loss"] >= 0
    assert math.isfinite(s1["calib/corrector_loss"]) and s1["calib/corrector_loss"] >= 0
    assert math.isfinite(s1["calib/updater_loss"]) and s1["calib/updater_loss"] >= 0
    assert s1["reward/batch"] == 0.3 and s1["reward/instance_std"] > 0  # the calibrated reward is spread out
    assert s1["ppo/log_std"] == pytest.approx(AgentConfig().init_log_std, abs=0.05)  # moved a little, not far


def test_agent_learn_reports_the_update_it_made() -> None:
    """The logged PPO numbers are those of the last update epoch on this buffer: recompute them afterwards."""
    torch.manual_seed(0)
    cfg = AgentConfig(update_epochs=1)  # one epoch: the stats are computed from the pre-step policy
    agent = RLKDAgent(cfg, CalibrationConfig(mode="none"), seed=1)
    temps, record = agent.act(torch.rand(8, 3))
    # With the policy unchanged since acting, the one epoch's ratio is exactly 1: approx_kl 0, clipfrac 0.
    stats = agent.learn(record, 0.5)
    assert stats["ppo/approx_kl"] == pytest.approx(0.0, abs=1e-7)
    assert stats["ppo/clipfrac"] == 0.0
    # Sparse reward (mode none): 0.5 on the last step only, zeros elsewhere → std = .5·√(1/8·7/8) = .1653595
    assert stats["reward/instance_std"] == pytest.approx(0.5 * math.sqrt(7 / 64), abs=1e-6)
    # A second buffer acted on by the old policy but learned from after the first update: ratio ≠ 1 now.
    _, record2 = agent.act(torch.rand(8, 3))
    agent.learn(record, 0.5)  # update the policy once more on the first buffer
    stats2 = agent.learn(record2, 0.5)
    assert stats2["ppo/approx_kl"] > 0
