"""Actor (Gaussian action → temperature) and critic of the RLKD agent (spec 1.3 and 4)."""
from __future__ import annotations

import torch
from torch import nn
from torch.distributions import Normal


def temperature(action: torch.Tensor, max_temperature: float = 10.0) -> torch.Tensor:
    """T = max_temperature · sigmoid(a): any real action maps into (0, max_temperature)."""
    return max_temperature * torch.sigmoid(action)


def mlp(in_dim: int, hidden: int, out_dim: int, out_act: nn.Module | None = None) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                               nn.Linear(hidden, out_dim)]
    if out_act is not None:
        layers.append(out_act)
    return nn.Sequential(*layers)


class Actor(nn.Module):
    """μ(s) = tanh(MLP(s)) and a learned state-independent log σ: one Gaussian per instance."""

    def __init__(self, state_dim: int, hidden: int = 256, init_log_std: float = -0.5) -> None:
        super().__init__()
        self.mu = mlp(state_dim, hidden, 1, nn.Tanh())
        self.log_std = nn.Parameter(torch.full((1,), float(init_log_std)))

    def distribution(self, states: torch.Tensor) -> Normal:
        mean = self.mu(states).squeeze(-1)
        return Normal(mean, self.log_std.exp().expand_as(mean))


class Critic(nn.Module):
    """V(s'): the value baseline for GAE."""

    def __init__(self, state_dim: int, hidden: int = 256) -> None:
        super().__init__()
        self.v = mlp(state_dim, hidden, 1)

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        return self.v(states).squeeze(-1)
