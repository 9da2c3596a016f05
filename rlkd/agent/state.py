"""The agent's observation of one instance (spec 1.2), computed for the whole batch at once."""
from __future__ import annotations

import torch

from rlkd.config import StateMode
from rlkd.errors import RLKDError

STATE_MODES = tuple(m.value for m in StateMode)


def state_dim(mode: StateMode | str = StateMode.paper) -> int:
    """Width of the state vector: the uncertainty ablation drops the third entry."""
    return 2 if mode == StateMode.no_uncertainty else 3


def uncertainty_from_top2(top2: torch.Tensor) -> torch.Tensor:
    """The paper's uncertainty score 1 − (p(1) − p(2)) from the two largest probabilities ``[B, 2]``."""
    return 1.0 - (top2[:, 0] - top2[:, 1])


def student_uncertainty(student_logits: torch.Tensor) -> torch.Tensor:
    """1 − (p(1) − p(2)) of the student at T = 1, ``[B]`` (what the paper's state carries third)."""
    with torch.no_grad():
        return uncertainty_from_top2(student_logits.detach().float().softmax(dim=1).topk(2, dim=1).values)


def instance_state(teacher_logits: torch.Tensor, student_logits: torch.Tensor,
                   mode: StateMode | str = StateMode.paper) -> torch.Tensor:
    """s_i = (max p_t, max p_s, 1 − (p_s(1) − p_s(2))) at T = 1, detached; shape [B, 3].

    ``mode="no_uncertainty"`` drops the uncertainty score ([B, 2]); ``mode="official"`` reproduces the
    official code's third entry, top-1 minus the second-*smallest* probability (``kthvalue(k=2)``).
    """
    if mode not in STATE_MODES:
        raise RLKDError(f"agent.state: '{mode}' is not one of {', '.join(STATE_MODES)}")
    if teacher_logits.shape != student_logits.shape or teacher_logits.dim() != 2:
        raise RLKDError(
            f"instance_state needs teacher and student logits of one shape [B, K], got "
            f"{list(teacher_logits.shape)} and {list(student_logits.shape)}"
        )
    with torch.no_grad():
        p_t = teacher_logits.detach().float().softmax(dim=1)
        p_s = student_logits.detach().float().softmax(dim=1)
        if not (torch.isfinite(p_t).all() and torch.isfinite(p_s).all()):
            raise RLKDError(
                "NaN or inf logits reached the RLKD agent: the student diverged; lower optim.lr or check the data"
            )
        top2 = p_s.topk(2, dim=1).values
        columns = [p_t.max(dim=1).values, top2[:, 0]]
        if mode == StateMode.paper:
            columns.append(uncertainty_from_top2(top2))
        elif mode == StateMode.official:
            columns.append(top2[:, 0] - p_s.kthvalue(2, dim=1).values)
        return torch.stack(columns, dim=1)
