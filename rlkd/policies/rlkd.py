"""RLKD: a PPO agent sets each instance's temperature from (teacher top prob, student top prob, uncertainty).

Timing (spec 1 and 2.1): batch b's reward r_b = w(E)·(acc_{b+1} − acc_b) is known after the forward of
batch b+1, so batch b's buffer is calibrated and learned from at step b+1, just before the agent acts on
b+1. ``reward.signal=official`` instead credits acc_{b+1} − acc_b (macro-averaged) to batch b+1 itself.
"""
from __future__ import annotations

from typing import Any

import torch

from rlkd.agent import RLKDAgent, batch_accuracy, instance_state, macro_accuracy, reward_factor
from rlkd.config import RewardSignal, RunConfig
from rlkd.policies.base import GradSync, Step, TemperaturePolicy
from rlkd.policies.registry import register_policy


class RLKDPolicy(TemperaturePolicy):
    per_instance = True
    uses_exploration = True  # the agent's early training sees mixed high-entropy instances (spec 5)

    def __init__(self, cfg: RunConfig, seed: int) -> None:
        super().__init__()
        self.cfg = cfg
        self.agent = RLKDAgent(cfg.agent, cfg.calibration, seed=seed)
        self.pending: dict[str, Any] | None = None  # batch b awaiting its reward (paper signal)
        self.prev_accuracy: float | None = None  # acc of the previous batch (official signal)

    def set_grad_sync(self, sync: GradSync | None) -> None:
        """The agent, C, U and Ê step their own optimisers: each step averages gradients over ranks first."""
        self.agent.grad_sync = sync

    def learns_in(self, epoch: int) -> bool:
        """Every batch by default; with ``agent.train_every=k`` only in epochs that are multiples of k."""
        return epoch % self.cfg.agent.train_every == 0

    def _learn(self, record: dict[str, torch.Tensor], accuracy_delta: float, epoch: int) -> None:
        batch_reward = reward_factor(epoch, self.cfg.reward.n, self.cfg.reward.scale) * accuracy_delta
        self.meter.add(self.agent.learn(record, batch_reward))

    def temperatures(self, step: Step) -> torch.Tensor:
        epoch, batch = step.epoch, step.student_logits.shape[0]
        if epoch < self.cfg.agent.warmup_epochs:
            temps = torch.full((batch,), self.cfg.agent.warmup_temperature, device=step.student_logits.device)
            self.log_temperatures(temps)
            return temps

        official = self.cfg.reward.signal == RewardSignal.official
        accuracy = (macro_accuracy if official else batch_accuracy)(step.student_logits, step.target)
        if self.pending is not None:  # paper: batch b's reward is known now that acc_{b+1} is
            if self.learns_in(self.pending["epoch"]):
                self._learn(self.pending["record"], accuracy - self.pending["accuracy"], self.pending["epoch"])
            self.pending = None

        states = instance_state(step.teacher_logits, step.student_logits, self.cfg.agent.state)
        temps, record = self.agent.act(states)
        if official:
            if self.prev_accuracy is not None and self.learns_in(epoch):
                self._learn(record, accuracy - self.prev_accuracy, epoch)
            self.prev_accuracy = accuracy
        else:
            self.pending = {"record": record, "accuracy": accuracy, "epoch": epoch}
        self.log_temperatures(temps)
        self.last_temperatures = temps
        return temps

    # The pending buffer crosses epoch (= checkpoint) boundaries, so it is part of the state.
    def get_extra_state(self) -> dict[str, Any]:
        return {"pending": self.pending, "prev_accuracy": self.prev_accuracy}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        self.pending, self.prev_accuracy = state["pending"], state["prev_accuracy"]


@register_policy("rlkd")  # its knobs: the run's agent, reward, calibration and exploration nodes
def build_rlkd(own: None, cfg: RunConfig, num_classes: int, rank: int = 0) -> RLKDPolicy:
    # Identical initial weights on every rank (torch's global seed), per-rank sampling seed.
    return RLKDPolicy(cfg, seed=cfg.seed * 1000 + rank)
