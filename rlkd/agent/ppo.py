"""PPO on one batch's buffer (spec 4), readable top to bottom in the CleanRL / SB3 style."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

import torch
from torch import nn

from rlkd.agent.networks import Actor, Critic
from rlkd.config import AgentConfig

GradSync = Callable[[Iterable[nn.Parameter]], None]


@dataclass
class Buffer:
    """One batch's B transitions, in loader order (the trajectory)."""

    states: torch.Tensor  # s'_i [B, d], what the actor saw
    actions: torch.Tensor  # a_i [B] (pre-squash)
    logprobs: torch.Tensor  # log π_old [B], density used for the ratio (paper: at a; official: at T)
    values: torch.Tensor  # V(s'_i) [B] at acting time
    rewards: torch.Tensor  # r'_i [B] (calibrated)


def gae(
    rewards: torch.Tensor, values: torch.Tensor, last_value: torch.Tensor, gamma: float, lam: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimation over one non-terminating sequence (Schulman et al. 2016).

    The step after the last one is bootstrapped with ``last_value`` (here V of the last state).
    Returns (advantages, returns = advantages + values).
    """
    next_values = torch.cat([values[1:], last_value.reshape(1)])
    deltas = rewards + gamma * next_values - values
    # A_t = Σ_{k≥t} (γλ)^(k−t) δ_k as one upper-triangular matrix product: exact, and no Python loop.
    steps = torch.arange(len(rewards), device=rewards.device)
    lag = steps.unsqueeze(0) - steps.unsqueeze(1)  # lag[t, k] = k − t
    decay = (gamma * lam) ** lag.clamp(min=0).to(rewards.dtype)
    weights = torch.where(lag >= 0, decay, torch.zeros((), dtype=rewards.dtype))
    advantages = weights @ deltas
    return advantages, advantages + values


def clipped_policy_loss(
    new_logprobs: torch.Tensor, old_logprobs: torch.Tensor, advantages: torch.Tensor, clip_eps: float
) -> tuple[torch.Tensor, dict[str, float]]:
    """L = mean(max(−A·ratio, −A·clip(ratio, 1−ε, 1+ε))) with CleanRL's approx_kl and clipfrac."""
    logratio = new_logprobs - old_logprobs
    ratio = logratio.exp()
    pg_loss = torch.max(-advantages * ratio, -advantages * ratio.clamp(1 - clip_eps, 1 + clip_eps)).mean()
    with torch.no_grad():
        approx_kl = ((ratio - 1) - logratio).mean().item()  # http://joschu.net/blog/kl-approx.html
        clipfrac = ((ratio - 1.0).abs() > clip_eps).float().mean().item()
    return pg_loss, {"ppo/approx_kl": approx_kl, "ppo/clipfrac": clipfrac}


def explained_variance(values: torch.Tensor, returns: torch.Tensor) -> float:
    """1 − Var(returns − values) / Var(returns); NaN when the returns do not vary."""
    var = returns.var(unbiased=False)
    return float("nan") if var == 0 else (1 - (returns - values).var(unbiased=False) / var).item()


def ppo_update(
    actor: Actor,
    critic: Critic,
    actor_opt: torch.optim.Optimizer,
    critic_opt: torch.optim.Optimizer,
    b: Buffer,
    cfg: AgentConfig,
    logprob_fn: Callable[[torch.distributions.Normal, torch.Tensor], torch.Tensor],
    grad_sync: GradSync | None = None,
) -> dict[str, float]:
    """``update_epochs`` of the critic's MSE to the GAE returns and of the actor's clipped objective.

    Full-buffer steps (B is one batch). No entropy bonus (spec 4). ``grad_sync`` all-reduces gradients so
    every data-parallel rank takes the same step and the agent stays one policy.
    """
    sync = grad_sync or (lambda params: None)
    with torch.no_grad():
        last_value = critic(b.states[-1:]).squeeze(0)
    b_advantages, b_returns = gae(b.rewards, b.values, last_value, cfg.gamma, cfg.gae_lambda)
    # Advantage normalisation per buffer (SB3 / CleanRL `norm_adv`).
    b_advantages = (b_advantages - b_advantages.mean()) / (b_advantages.std(unbiased=False) + 1e-8)

    # The critic's MSE and the actor's clipped objective share no parameters and the advantages are fixed, so
    # one backward per epoch gives each network exactly the gradient of its own loss: the same updates as
    # 5 critic epochs then 5 actor epochs, with half the autograd launches.
    for _ in range(cfg.update_epochs):
        v_loss = 0.5 * ((critic(b.states) - b_returns) ** 2).mean()
        new_logprobs = logprob_fn(actor.distribution(b.states), b.actions)
        pg_loss, stats = clipped_policy_loss(new_logprobs, b.logprobs, b_advantages, cfg.clip_eps)
        critic_opt.zero_grad(set_to_none=True)
        actor_opt.zero_grad(set_to_none=True)
        (v_loss + pg_loss).backward()
        for net, opt in ((critic, critic_opt), (actor, actor_opt)):
            sync(net.parameters())
            nn.utils.clip_grad_norm_(net.parameters(), cfg.max_grad_norm, foreach=True)
            opt.step()

    stats.update(
        {
            "ppo/policy_loss": pg_loss.item(),
            "ppo/value_loss": v_loss.item(),
            "ppo/explained_variance": explained_variance(b.values, b_returns),
            "ppo/log_std": actor.log_std.item(),
        }
    )
    return stats
