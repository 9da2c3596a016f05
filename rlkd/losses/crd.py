"""CRD: contrastive representation distillation (Tian et al., ICLR 2020), on the pooled features.

Embeddings v_s = ‖W_s h_s‖-normalised and v_t likewise (128-d). Two memory banks of N = ``num_data`` rows
hold a momentum average of past student / teacher embeddings per dataset index. For instance i with index
y_i, draw K indices uniformly from [0, N) (the negatives) and put y_i in front (the positive), then score
    P_s(i, k) = exp(⟨M_t[idx_ik], v_s,i⟩ / τ) / Z_s  (and P_t with M_s and v_t),
where Z is set once from the first batch (mean score × N) and kept. With noise mass m = K / N, the NCE loss
of one side is  −log(P_pos / (P_pos + m + ε)) − Σ_k log(m / (P_neg,k + m + ε)).

Per instance: that expression is already a sum over the instance's own K + 1 pairs, and the published loss
divides the batch total by B, so L_i = NCE_s(i) + NCE_t(i) and mean_i L_i is the published loss exactly.
After the scores, in training mode only, the rows y_i are updated under no_grad:
M[y_i] ← normalise(momentum·M[y_i] + (1 − momentum)·v_i). Negatives come from a generator seeded by
(seed, draw count); the draw count is saved in the state dict, so a resumed run draws the same negatives.
"""
from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from rlkd.errors import RLKDError
from rlkd.losses import LOSSES
from rlkd.losses.base import LossContext
from rlkd.losses.features import FeatureDistillLoss, pooled, probe, require_context
from rlkd.models.base import Features

EPS = 1e-7


class Embed(nn.Module):
    """Linear projection to the contrast space, then L2 normalisation."""

    def __init__(self, dim_in: int, dim_out: int) -> None:
        super().__init__()
        self.linear = nn.Linear(dim_in, dim_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.linear(x.flatten(1)), p=2, dim=1)


def contrast_scores(anchor: torch.Tensor, memory: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """⟨memory[idx_ik], anchor_i⟩ ``[B, K+1]``, by the cheaper of two equal computations.

    Small banks: one matmul against a snapshot of the whole bank, then a gather. Large banks: gather the rows
    (a copy), then bmm. Either way autograd holds a copy, so the bank can be updated in place afterwards.
    """
    if memory.shape[0] <= idx.numel():
        return (anchor @ memory.t().clone()).gather(1, idx)
    return torch.bmm(memory[idx], anchor.unsqueeze(2)).squeeze(2)


def nce_per_instance(scores: torch.Tensor, num_data: int) -> torch.Tensor:
    """The NCE loss of each row of normalised scores ``[B, 1 + K]`` (positive first) → ``[B]``."""
    noise = (scores.shape[1] - 1) / num_data  # m · P_n, P_n = 1/N uniform
    positive, negatives = scores[:, 0], scores[:, 1:]
    log_d1 = torch.log(positive / (positive + noise + EPS))
    log_d0 = torch.log(noise / (negatives + noise + EPS))
    return -(log_d1 + log_d0.sum(1))


@LOSSES.register("crd")
class CRDLoss(FeatureDistillLoss):
    """CRD + KD; terms ``kd`` and ``crd``.

    Params: alpha (KD weight, 0.9), beta (CRD weight, 0.8), feat_dim (128), nce_k (negatives, 16384),
    nce_t (τ, 0.07), momentum (memory update, 0.5), seed (negative sampling, 0).
    """

    key = "crd"
    # Buffers (registered in __init__ by name, so declared here for the type checker).
    memory_s: torch.Tensor
    memory_t: torch.Tensor
    z_s: torch.Tensor
    z_t: torch.Tensor

    def __init__(
        self,
        context: LossContext | None = None,
        *,
        alpha: float = 0.9,
        beta: float = 0.8,
        feat_dim: int = 128,
        nce_k: int = 16384,
        nce_t: float = 0.07,
        momentum: float = 0.5,
        seed: int = 0,
    ) -> None:
        super().__init__(alpha, beta)
        context = require_context(self.key, context)
        checks = {"feat_dim": int(feat_dim) >= 1, "nce_k": int(nce_k) >= 1, "nce_t": float(nce_t) > 0,
                  "momentum": 0 <= float(momentum) < 1, "num_data": int(context.num_data) >= 1}
        for name, ok in checks.items():
            if not ok:
                raise RLKDError(f"loss 'crd': {name} out of range "
                                "(feat_dim, nce_k, num_data >= 1; nce_t > 0; momentum in [0, 1))")
        self.nce_k, self.nce_t, self.momentum, self.seed = int(nce_k), float(nce_t), float(momentum), int(seed)
        self.num_data, self.draws = int(context.num_data), 0
        s, t, _ = probe(self.key, context)
        self.embed_s = Embed(pooled(self.key, s).shape[1], int(feat_dim))
        self.embed_t = Embed(pooled(self.key, t).shape[1], int(feat_dim))
        stdv = 1.0 / math.sqrt(int(feat_dim) / 3)
        init = torch.Generator().manual_seed(self.seed)
        for name in ("memory_s", "memory_t"):  # uniform in [−stdv, stdv], as RepDistiller
            self.register_buffer(name, (torch.rand(self.num_data, int(feat_dim), generator=init) * 2 - 1) * stdv)
        self.register_buffer("z_s", torch.tensor(-1.0))  # normalisation constants, set on the first batch
        self.register_buffer("z_t", torch.tensor(-1.0))

    def sample_contrast(self, index: torch.Tensor) -> torch.Tensor:
        """``[B, 1 + K]`` bank rows: the instance's own index, then K uniform negatives."""
        generator = torch.Generator(device=self.memory_s.device).manual_seed(self.seed * 1_000_003 + self.draws)
        self.draws += 1
        shape = (len(index), self.nce_k)
        negatives = torch.randint(0, self.num_data, shape, generator=generator, device=self.memory_s.device)
        return torch.cat([index.long().unsqueeze(1), negatives], dim=1)

    def normalised(self, scores: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        if z.item() < 0:
            z.fill_(scores.detach().mean().item() * self.num_data)
        return scores / z

    def feature_term(
        self, student: Features, teacher: Features, teacher_logits: torch.Tensor, index: torch.Tensor | None
    ) -> torch.Tensor:
        if index is None:
            raise RLKDError("loss 'crd' needs the dataset index of every instance: "
                            "pass index= (datasets from rlkd.data yield it)")
        index = index.to(self.memory_s.device).long()
        if bool(((index < 0) | (index >= self.num_data)).any()):
            raise RLKDError(f"loss 'crd': dataset index out of range [0, {self.num_data}); "
                            "build it with num_data = len(train set)")
        v_s = self.embed_s(pooled(self.key, student))
        v_t = self.embed_t(pooled(self.key, teacher).detach())
        idx = self.sample_contrast(index)
        p_s = self.normalised(torch.exp(contrast_scores(v_s, self.memory_t, idx) / self.nce_t), self.z_s)
        p_t = self.normalised(torch.exp(contrast_scores(v_t, self.memory_s, idx) / self.nce_t), self.z_t)
        if self.training:
            self.update_memory(index, v_s.detach(), v_t.detach())
        return nce_per_instance(p_s, self.num_data) + nce_per_instance(p_t, self.num_data)

    @torch.no_grad()
    def update_memory(self, index: torch.Tensor, v_s: torch.Tensor, v_t: torch.Tensor) -> None:
        for memory, v in ((self.memory_s, v_s), (self.memory_t, v_t)):
            mixed = memory[index] * self.momentum + v * (1 - self.momentum)
            memory.index_copy_(0, index, F.normalize(mixed, p=2, dim=1))

    def get_extra_state(self) -> dict[str, Any]:
        return {"draws": self.draws}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        self.draws = int(state["draws"])

    def extra_repr(self) -> str:
        return (f"{super().extra_repr()}, nce_k={self.nce_k}, nce_t={self.nce_t}, momentum={self.momentum}, "
                f"num_data={self.num_data}, seed={self.seed}")
