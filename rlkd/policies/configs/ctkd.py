"""``policy.ctkd``: both CTKD baselines (``ctkd_global``, ``ctkd_instance``), T = t_min + t_range·sigmoid(θ)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rlkd.errors import require


@dataclass
class CTKDConfig:
    NODE: ClassVar[str] = "ctkd"  # policy.ctkd

    t_min: float = 1.0  # the lowest T: keeps the softened distributions from sharpening without bound
    t_range: float = 20.0  # T spans (t_min, t_min + t_range): CTKD's (1, 21)
    lambda_epochs: int = 10  # gradient-reversal λ rises 0 → 1 by a cosine over these epochs (the curriculum)
    hidden: int = 256  # ctkd_instance's MLP width (concat(p_t, p_s) → hidden → θ)
    start_temperature: float = 4.0  # θ starts where T equals this: the fixed baseline's T, so both start alike

    def __post_init__(self) -> None:
        require(self.t_min > 0, "policy.ctkd.t_min", "must be > 0")
        require(self.t_range > 0, "policy.ctkd.t_range", "must be > 0")
        require(self.lambda_epochs >= 1, "policy.ctkd.lambda_epochs", "must be >= 1")
        require(self.hidden >= 1, "policy.ctkd.hidden", "must be >= 1")
        hi = self.t_min + self.t_range
        require(self.t_min < self.start_temperature < hi, "policy.ctkd.start_temperature",
                f"must lie inside (t_min, t_min + t_range) = ({self.t_min}, {hi})")
