"""The RLKD agent: acts on a whole batch at once and learns from one calibrated buffer at a time."""
from __future__ import annotations

from typing import Any, Callable, Iterable

import torch
from torch import nn
from torch.distributions import Normal

from rlkd.agent.calibration import RewardCalibrator
from rlkd.agent.networks import Actor, Critic, temperature
from rlkd.agent.ppo import Buffer, ppo_update
from rlkd.agent.state import state_dim
from rlkd.config import AgentConfig, CalibrationConfig, LogProb

GradSync = Callable[[Iterable[nn.Parameter]], None]


class RLKDAgent(nn.Module):
    """Actor, critic, reward calibrator and their optimisers, plus the sampling generator.

    ``grad_sync`` (set by a data-parallel launcher) all-reduces gradients before every optimiser step,
    so all ranks hold one policy. Sampling uses the agent's own generator: seed it per rank.
    """

    def __init__(self, cfg: AgentConfig, calibration: CalibrationConfig, seed: int = 0) -> None:
        super().__init__()
        self.cfg = cfg
        dim = state_dim(cfg.state)
        self.actor = Actor(dim, cfg.hidden, cfg.init_log_std)
        self.critic = Critic(dim, cfg.hidden)
        self.calibrator = RewardCalibrator(calibration, dim, cfg.gamma)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=cfg.actor_lr, fused=True)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=cfg.critic_lr, fused=True)
        self.generator = torch.Generator().manual_seed(seed)
        self.grad_sync: GradSync | None = None

    def logprob(self, dist: Normal, actions: torch.Tensor) -> torch.Tensor:
        """Density of the pre-squash action (paper) or, as the official code does, of T itself."""
        if self.cfg.logprob == LogProb.official:
            return dist.log_prob(temperature(actions, self.cfg.max_temperature))
        return dist.log_prob(actions)

    @torch.no_grad()
    def act(self, raw_states: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """One actor and one critic call for the whole batch → temperatures [B] and the transition record."""
        states = self.calibrator.transform_state(raw_states)
        dist = self.actor.distribution(states)
        noise = torch.randn(dist.mean.shape, generator=self.generator).to(states.device)
        actions = dist.mean + dist.stddev * noise
        record = {
            "raw_states": raw_states,
            "states": states,
            "actions": actions,
            "logprobs": self.logprob(dist, actions),
            "values": self.critic(states),
        }
        return temperature(actions, self.cfg.max_temperature), record

    def learn(self, record: dict[str, torch.Tensor], batch_reward: float) -> dict[str, float]:
        """Calibrate r_b over the buffer (C, U, Ê trained first), then one PPO update on it."""
        rewards, stats = self.calibrator.calibrate(
            record["raw_states"], record["actions"], batch_reward, self.grad_sync
        )
        buffer = Buffer(record["states"], record["actions"], record["logprobs"], record["values"], rewards)
        stats.update(ppo_update(self.actor, self.critic, self.actor_opt, self.critic_opt, buffer, self.cfg,
                                self.logprob, self.grad_sync))
        stats["reward/batch"] = batch_reward
        stats["reward/instance_std"] = rewards.std(unbiased=False).item()
        return stats

    # Optimiser and generator state travel with the module's state_dict (checkpoints, rank broadcast).
    def get_extra_state(self) -> dict[str, Any]:
        return {
            "actor_opt": self.actor_opt.state_dict(),
            "critic_opt": self.critic_opt.state_dict(),
            "corrector_opt": self.calibrator.corrector_opt.state_dict() if self.calibrator.corrector_opt else None,
            "updater_opt": self.calibrator.updater_opt.state_dict() if self.calibrator.updater_opt else None,
            "generator": self.generator.get_state(),
        }

    def set_extra_state(self, state: dict[str, Any]) -> None:
        self.actor_opt.load_state_dict(state["actor_opt"])
        self.critic_opt.load_state_dict(state["critic_opt"])
        if self.calibrator.corrector_opt and state["corrector_opt"]:
            self.calibrator.corrector_opt.load_state_dict(state["corrector_opt"])
        if self.calibrator.updater_opt and state["updater_opt"]:
            self.calibrator.updater_opt.load_state_dict(state["updater_opt"])
        self.generator.set_state(state["generator"])
