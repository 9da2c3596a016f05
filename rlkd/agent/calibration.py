"""Instance reward calibration (spec 2.2): spread one batch reward over the batch's instances.

The batch is one trajectory of B steps whose only observed reward is the total r_b. A recurrent reward
corrector C predicts at every step the trajectory's return; differences of its predictions are the
per-instance rewards, shifted so that they sum to r_b exactly. A state updater U (trained through an
estimator Ê of the return) refines the state PPO sees.
"""
from __future__ import annotations

from typing import Callable, Iterable

import torch
from torch import nn

from rlkd.config import CalibrationConfig, CalibrationMode, RecurrentCell

GradSync = Callable[[Iterable[nn.Parameter]], None]


def return_targets(batch_reward: float, length: int, gamma: float) -> torch.Tensor:
    """G_i for the sparse trajectory (r_b arrives at the last step): G_i = γ^(B−i) · r_b, i = 1..B."""
    exponents = torch.arange(length - 1, -1, -1, dtype=torch.float32)
    return batch_reward * gamma**exponents


def corrector_loss(
    pred: torch.Tensor, batch_reward: float, targets: torch.Tensor, alpha: float, beta: float
) -> torch.Tensor:
    """L_C = α·(Ĝ_B − r_b)² + (β / B)·Σ_i (Ĝ_i − G_i)²."""
    return alpha * (pred[-1] - batch_reward) ** 2 + beta * ((pred - targets) ** 2).mean()


def redistribute(pred: torch.Tensor, batch_reward: float) -> torch.Tensor:
    """r'_1 = Ĝ_1, r'_i = Ĝ_i − Ĝ_(i−1), then each r'_i += (r_b − Σ r') / B so that Σ r' = r_b exactly."""
    rewards = torch.diff(pred, prepend=pred.new_zeros(1))
    return rewards + (batch_reward - rewards.sum()) / len(rewards)


def sparse_rewards(batch_reward: float, length: int) -> torch.Tensor:
    """No calibration: r_b on the last step, zeros elsewhere (the paper's "w/o calibration" row)."""
    rewards = torch.zeros(length)
    rewards[-1] = batch_reward
    return rewards


class RewardCorrector(nn.Module):
    """C: a GRU/LSTM over the batch sequence of (s_i, a_i) predicting the return at every step."""

    def __init__(self, state_dim: int, hidden: int = 32, cell: RecurrentCell | str = RecurrentCell.gru) -> None:
        super().__init__()
        rnn = nn.GRU if cell == RecurrentCell.gru else nn.LSTM
        self.rnn = rnn(state_dim + 1, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        x = torch.cat([states, actions.unsqueeze(-1)], dim=-1).unsqueeze(0)
        out, _ = self.rnn(x)
        return self.head(out).squeeze(0).squeeze(-1)


class LinearCorrector(nn.Module):
    """The official code's corrector: one linear map of (s_i, a_i) per step."""

    def __init__(self, state_dim: int) -> None:
        super().__init__()
        self.head = nn.Linear(state_dim + 1, 1)

    def forward(self, states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        return self.head(torch.cat([states, actions.unsqueeze(-1)], dim=-1)).squeeze(-1)


def small_mlp(in_dim: int, out_dim: int, hidden: int = 16) -> nn.Sequential:
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, out_dim))


def updater_loss(estimates: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """L_U = mean_i (Ê(s'_i) − G_i)²."""
    return ((estimates - targets) ** 2).mean()


class RewardCalibrator(nn.Module):
    """Owns C, U and Ê and their optimisers; ``calibrate`` trains them on one buffer and returns r'.

    Modes: ``none`` (sparse reward, identity state), ``corrector`` (C only), ``full`` (C, U, Ê: default),
    ``official`` (linear C on the square of the mean error, U trained by L1 sparsity only, calibrated
    rewards computed but PPO gets the sparse ones).
    """

    def __init__(self, cfg: CalibrationConfig, state_dim: int, gamma: float) -> None:
        super().__init__()
        self.cfg, self.gamma = cfg, gamma
        self.corrector: nn.Module | None = None
        self.updater: nn.Module | None = None
        self.estimator: nn.Module | None = None
        if cfg.mode in (CalibrationMode.corrector, CalibrationMode.full):
            self.corrector = RewardCorrector(state_dim, cfg.hidden, cfg.cell)
        elif cfg.mode == CalibrationMode.official:
            self.corrector = LinearCorrector(state_dim)
        if cfg.mode in (CalibrationMode.full, CalibrationMode.official):
            self.updater = small_mlp(state_dim, state_dim)
        if cfg.mode == CalibrationMode.full:
            self.estimator = small_mlp(state_dim, 1)
        self.corrector_opt = (
            torch.optim.Adam(self.corrector.parameters(), lr=cfg.lr, fused=True) if self.corrector else None
        )
        updater_params = [p for m in (self.updater, self.estimator) if m is not None for p in m.parameters()]
        self.updater_opt = torch.optim.Adam(updater_params, lr=cfg.lr, fused=True) if updater_params else None

    def transform_state(self, states: torch.Tensor) -> torch.Tensor:
        """s' = U(s) where U exists, else s; what the actor and critic see."""
        if self.updater is None:
            return states
        with torch.no_grad():
            return self.updater(states)

    def calibrate(
        self, raw_states: torch.Tensor, actions: torch.Tensor, batch_reward: float, grad_sync: GradSync | None = None
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Train C/U/Ê on this buffer, then return the per-instance rewards PPO learns from."""
        length, mode = len(actions), self.cfg.mode
        targets = return_targets(batch_reward, length, self.gamma).to(actions.device)
        stats: dict[str, float] = {}
        sync = grad_sync or (lambda params: None)
        # C and (U, Ê) share no parameters and Adam is per parameter, so a joint step on the summed losses is
        # exactly one step of each: max(steps) backward passes instead of their sum.
        for step in range(max(self.cfg.corrector_steps, self.cfg.updater_steps)):
            losses = []
            if self.corrector is not None and step < self.cfg.corrector_steps:
                pred = self.corrector(raw_states, actions)
                if mode == CalibrationMode.official:
                    loss = ((pred - batch_reward).mean()) ** 2
                else:
                    loss = corrector_loss(pred, batch_reward, targets, self.cfg.alpha, self.cfg.beta)
                stats["calib/corrector_loss"] = loss.item()
                assert self.corrector_opt is not None
                losses.append((loss, self.corrector_opt))
            if self.updater is not None and step < self.cfg.updater_steps:
                updated = self.updater(raw_states)
                if mode == CalibrationMode.official:
                    loss = updated.abs().mean()
                else:
                    assert self.estimator is not None
                    loss = updater_loss(self.estimator(updated).squeeze(-1), targets)
                stats["calib/updater_loss"] = loss.item()
                assert self.updater_opt is not None
                losses.append((loss, self.updater_opt))
            if not losses:
                break
            for _, opt in losses:
                opt.zero_grad(set_to_none=True)
            torch.stack([loss for loss, _ in losses]).sum().backward()
            for _, opt in losses:
                sync(p for group in opt.param_groups for p in group["params"])
                opt.step()
        if mode in (CalibrationMode.none, CalibrationMode.official) or self.corrector is None:
            return sparse_rewards(batch_reward, length).to(actions.device), stats
        with torch.no_grad():
            return redistribute(self.corrector(raw_states, actions), batch_reward), stats
