"""GAE (rlkd.agent.ppo.gae) against a plain reversed loop, and on numbers worked out on paper.

Style of Stable-Baselines3's tests/test_gae.py (inputs chosen so the expected values can be computed by hand)
and CleanRL's batched-vs-looped checks. The project's ``gae`` is one *non-terminating* sequence (the batch
is one trajectory, the step after the last is bootstrapped with ``last_value``), so the loop's (1 − done)
factor is 1 everywhere.
"""
from __future__ import annotations

import pytest
import torch

from rlkd.agent import gae


def looped_gae(rewards: list[float], values: list[float], last_value: float, gamma: float, lam: float
               ) -> tuple[list[float], list[float]]:
    """CleanRL's reversed loop, in plain Python floats (no torch, no matrix):
    δ_t = r_t + γ·V_{t+1}·(1 − done) − V_t,   A_t = δ_t + γλ·(1 − done)·A_{t+1},   done = 0,   V_T = last_value."""
    n = len(rewards)
    advantages = [0.0] * n
    next_advantage, done = 0.0, 0.0
    for t in reversed(range(n)):
        next_value = last_value if t == n - 1 else values[t + 1]
        delta = rewards[t] + gamma * next_value * (1.0 - done) - values[t]
        next_advantage = delta + gamma * lam * (1.0 - done) * next_advantage
        advantages[t] = next_advantage
    return advantages, [a + v for a, v in zip(advantages, values)]


# ---- worked by hand -------------------------------------------------------------------------------------
# Three steps, rewards r = [0, 1, −1], values V = [1, .5, 0], bootstrap V_3 = last_value = 4.
#   next values      V_{t+1} = [.5, 0, 4]
#   δ_0 = 0  + .5·.5 − 1  = −.75
#   δ_1 = 1  + .5·0  − .5 =  .5
#   δ_2 = −1 + .5·4  − 0  =  1
R, V, LAST = [0.0, 1.0, -1.0], [1.0, 0.5, 0.0], 4.0

HAND = [
    # γ = .5, λ = .5 → γλ = .25:
    #   A_2 = δ_2 = 1;  A_1 = .5 + .25·1 = .75;  A_0 = −.75 + .25·.75 = −.5625
    #   returns = A + V = [−.5625 + 1, .75 + .5, 1 + 0] = [.4375, 1.25, 1]
    (0.5, 0.5, [-0.5625, 0.75, 1.0], [0.4375, 1.25, 1.0]),
    # λ = 0 (TD(0)): A = δ = [−.75, .5, 1]; returns = [.25, 1, 1]
    (0.5, 0.0, [-0.75, 0.5, 1.0], [0.25, 1.0, 1.0]),
    # λ = 1 (Monte Carlo): A_t = Σ_k γ^(k−t) r_k + γ^(3−t)·V_3 − V_t
    #   A_0 = 0 + .5·1 + .25·(−1) + .125·4 − 1 = −.25;  A_1 = 1 + .5·(−1) + .25·4 − .5 = 1;  A_2 = −1 + .5·4 − 0 = 1
    #   returns = the discounted returns themselves: [.75, 1.5, 1]
    (0.5, 1.0, [-0.25, 1.0, 1.0], [0.75, 1.5, 1.0]),
]


@pytest.mark.parametrize("gamma, lam, advantages, returns", HAND)
def test_gae_worked_by_hand(gamma: float, lam: float, advantages: list[float], returns: list[float]) -> None:
    adv, ret = gae(torch.tensor(R, dtype=torch.float64), torch.tensor(V, dtype=torch.float64),
                   torch.tensor(LAST, dtype=torch.float64), gamma, lam)
    # every number above is a short binary fraction: the float64 result must be exact up to rounding
    assert adv.tolist() == pytest.approx(advantages, abs=1e-12)
    assert ret.tolist() == pytest.approx(returns, abs=1e-12)
    # and the reference loop agrees with the paper too (so it is a fair reference for the random cases below)
    loop_adv, loop_ret = looped_gae(R, V, LAST, gamma, lam)
    assert loop_adv == pytest.approx(advantages, abs=1e-12) and loop_ret == pytest.approx(returns, abs=1e-12)


def test_single_step_is_one_td_error() -> None:
    # B = 1: A_0 = δ_0 = r_0 + γ·V_1 − V_0 = 2 + .9·3 − 1 = 3.7 for any λ
    for lam in (0.0, 0.5, 1.0):
        adv, ret = gae(torch.tensor([2.0], dtype=torch.float64), torch.tensor([1.0], dtype=torch.float64),
                       torch.tensor(3.0, dtype=torch.float64), 0.9, lam)
        assert adv.shape == (1,) and adv.item() == pytest.approx(3.7, abs=1e-12)
        assert ret.item() == pytest.approx(4.7, abs=1e-12)


# ---- matrix vs loop on random inputs ----------------------------------------------------------------------

@pytest.mark.parametrize("length", [1, 2, 3, 7, 64, 128])
@pytest.mark.parametrize("gamma, lam", [(0.99, 0.95), (0.5, 0.5), (0.9, 0.0), (0.9, 1.0), (1.0, 1.0), (1.0, 0.0),
                                        (0.3, 0.7)])
def test_matrix_gae_equals_reversed_loop(length: int, gamma: float, lam: float) -> None:
    g = torch.Generator().manual_seed(1000 * length + int(100 * gamma) + int(10 * lam))
    rewards = torch.randn(length, generator=g, dtype=torch.float64)
    values = torch.randn(length, generator=g, dtype=torch.float64)
    last_value = torch.randn((), generator=g, dtype=torch.float64)
    adv, ret = gae(rewards, values, last_value, gamma, lam)
    ref_adv, ref_ret = looped_gae(rewards.tolist(), values.tolist(), last_value.item(), gamma, lam)
    assert adv.shape == ret.shape == (length,)
    assert adv.tolist() == pytest.approx(ref_adv, rel=1e-9, abs=1e-9)
    assert ret.tolist() == pytest.approx(ref_ret, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("length", [1, 16, 128])
def test_matrix_gae_in_float32_as_the_agent_runs_it(length: int) -> None:
    # The agent's buffers are float32 [B]; the matrix form must stay close to the float64 loop there too.
    g = torch.Generator().manual_seed(length)
    rewards, values = torch.randn(length, generator=g), torch.randn(length, generator=g)
    last_value = torch.randn((), generator=g)
    adv, ret = gae(rewards, values, last_value, 0.99, 0.95)
    assert adv.dtype == torch.float32
    ref_adv, ref_ret = looped_gae(rewards.double().tolist(), values.double().tolist(), last_value.item(), 0.99, 0.95)
    assert adv.tolist() == pytest.approx(ref_adv, rel=1e-4, abs=1e-4)
    assert ret.tolist() == pytest.approx(ref_ret, rel=1e-4, abs=1e-4)


def test_gae_is_causal_backwards_only() -> None:
    # A_t depends on rewards k ≥ t only: changing r_5 must leave A_6.. unchanged and change A_0..A_5.
    g = torch.Generator().manual_seed(7)
    rewards = torch.randn(10, generator=g, dtype=torch.float64)
    values = torch.randn(10, generator=g, dtype=torch.float64)
    last = torch.tensor(0.3, dtype=torch.float64)
    before, _ = gae(rewards, values, last, 0.9, 0.8)
    rewards[5] += 1.0
    after, _ = gae(rewards, values, last, 0.9, 0.8)
    diff = after - before
    # by hand: ∂A_t / ∂r_5 = (γλ)^(5−t) for t ≤ 5, 0 after
    expected = [0.72 ** (5 - t) if t <= 5 else 0.0 for t in range(10)]
    assert diff.tolist() == pytest.approx(expected, abs=1e-12)
