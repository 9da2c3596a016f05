"""Logit losses (KD, DKD) with a per-instance temperature, the registry and build_loss errors.

Hand-computed values are worked out in the comments; references are written independently of the package.
"""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from rlkd.errors import RLKDError
from rlkd.losses import LOSSES, LossWeights, build_loss, loss_params

LN2, LN3 = math.log(2.0), math.log(3.0)


def random_batch(
    b: int = 6, k: int = 5, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    zs = torch.randn(b, k, generator=g) * 3
    zt = torch.randn(b, k, generator=g) * 3
    target = torch.randint(0, k, (b,), generator=g)
    temps = 0.5 + 9 * torch.rand(b, generator=g)
    return zs, zt, target, temps


def test_registry_has_every_loss_with_its_recipe() -> None:
    assert LOSSES.names() == ["crd", "dkd", "kd", "pkt", "rkd", "sp", "srrl", "vid"]
    kd, dkd = build_loss("kd"), build_loss("dkd")
    assert (kd.weights.ce, kd.weights.kd, kd.weights.warmup_epochs) == (0.1, 0.9, 0)
    assert (dkd.weights.ce, dkd.weights.kd, dkd.weights.warmup_epochs) == (1.0, 1.0, 20)
    assert dkd.weights.kd_factor(5) == 0.25 and dkd.weights.kd_factor(40) == 1.0
    assert (dkd.alpha, dkd.beta) == (1.0, 8.0) and build_loss("dkd", beta=2).beta == 2.0
    for name in ("pkt", "sp", "vid", "crd", "srrl", "rkd"):
        assert LOSSES.get(name).weights == LossWeights(ce=0.1, kd=1.0)
        # alpha and beta, in this order, are the first two constructor params of every feature loss
        assert LOSSES.get(name).needs_features and loss_params(name)[:2] == ["alpha", "beta"]
    assert not LOSSES.get("kd").needs_features and not LOSSES.get("dkd").needs_features
    assert loss_params("kd") == [] and loss_params("dkd") == ["alpha", "beta"]
    assert loss_params("rkd") == ["alpha", "beta", "distance_weight", "angle_weight"]
    # the recipe defaults the feature losses are built with, and a param override reaching the loss
    for name, beta in (("pkt", 30000.0), ("sp", 3000.0), ("rkd", 1.0)):
        built = build_loss(name)
        assert (built.alpha, built.beta) == (0.9, beta), name
        assert build_loss(name, beta=2.0).beta == 2.0


def test_kd_by_hand_two_classes() -> None:
    # Row 0, T = 1: z_t = [ln 3, 0] → p_t = [3/4, 1/4]; z_s = [0, 0] → p_s = [1/2, 1/2].
    #   KL(p_t‖p_s) = 3/4·ln(3/4 / 1/2) + 1/4·ln(1/4 / 1/2) = 0.75·ln 1.5 − 0.25·ln 2
    #              = 0.75·0.4054651 − 0.25·0.6931472 = 0.3040988 − 0.1732868 = 0.1308120; × T² = 1 → 0.1308120
    # Row 1, T = 2: z_t = [2 ln 3, 0], z_t/T = [ln 3, 0] → the same p_t; z_s = [0, 0] → the same p_s:
    #   KL = 0.1308120; × T² = 4 → 0.5232481
    # Row 2, T = 1: z_s = z_t = [5, −1] → KL = 0.
    zt = torch.tensor([[LN3, 0.0], [2 * LN3, 0.0], [5.0, -1.0]])
    zs = torch.tensor([[0.0, 0.0], [0.0, 0.0], [5.0, -1.0]])
    loss = build_loss("kd")(zs, zt, torch.tensor([0, 0, 1]), torch.tensor([1.0, 2.0, 1.0]))
    assert loss.shape == (3,)
    assert loss.tolist() == pytest.approx([0.1308120, 0.5232481, 0.0], abs=1e-6)


def test_dkd_by_hand_three_classes() -> None:
    # Row 0, T = 1, target 0: z_t = [ln 2, 0, 0] → p_t = [2, 1, 1]/4 = [1/2, 1/4, 1/4];
    #                        z_s = [0, ln 2, 0] → p_s = [1, 2, 1]/4 = [1/4, 1/2, 1/4].
    #   TCKD: b_t = [1/2, 1/2], b_s = [1/4, 3/4]
    #         KL = 1/2·ln(1/2 / 1/4) + 1/2·ln(1/2 / 3/4) = 1/2·ln 2 + 1/2·ln(2/3) = 1/2·ln(4/3) = 0.1438410
    #   NCKD: non-target, renormalised: teacher [1/4, 1/4]/(1/2) = [1/2, 1/2]; student [1/2, 1/4]/(3/4) = [2/3, 1/3]
    #         KL = 1/2·ln(1/2 / 2/3) + 1/2·ln(1/2 / 1/3) = 1/2·ln(3/4) + 1/2·ln(3/2) = 1/2·ln(9/8) = 0.0588915
    #   terms (α = 1, β = 8, T² = 1): tckd = 0.1438410, nckd = 8·0.0588915 = 0.4711320
    # Row 1, T = 2: logits doubled → the same distributions at z/T; × T² = 4:
    #   tckd = 0.5753641, nckd = 32·0.0588915 = 1.8845280
    # Row 2, T = 1, target 1: row 0 with classes 0 and 1 swapped in both → the same values as row 0.
    zt = torch.tensor([[LN2, 0.0, 0.0], [2 * LN2, 0.0, 0.0], [0.0, LN2, 0.0]])
    zs = torch.tensor([[0.0, LN2, 0.0], [0.0, 2 * LN2, 0.0], [LN2, 0.0, 0.0]])
    target, temps = torch.tensor([0, 0, 1]), torch.tensor([1.0, 2.0, 1.0])
    terms = build_loss("dkd").terms(zs, zt, target, temps)
    assert terms["tckd"].tolist() == pytest.approx([0.1438410, 0.5753641, 0.1438410], abs=1e-6)
    assert terms["nckd"].tolist() == pytest.approx([0.4711320, 1.8845280, 0.4711320], abs=1e-6)
    total = build_loss("dkd")(zs, zt, target, temps)
    assert total.tolist() == pytest.approx([0.6149730, 2.4598921, 0.6149730], abs=1e-6)


def test_dkd_decomposes_kd() -> None:
    # Zhao et al. eq. (1): KL(p_t‖p_s) = TCKD + (1 − p_t,g)·NCKD, instance by instance (α = β = 1).
    zs, zt, target, temps = random_batch(8, 7)
    terms = build_loss("dkd", alpha=1, beta=1).terms(zs, zt, target, temps)
    p_t_target = F.softmax(zt / temps[:, None], 1).gather(1, target[:, None]).squeeze(1)
    expected = build_loss("kd")(zs, zt, target, temps)
    assert torch.allclose(terms["tckd"] + (1 - p_t_target) * terms["nckd"], expected, atol=1e-5)


def mdistiller_dkd(
    zs: torch.Tensor, zt: torch.Tensor, target: torch.Tensor, alpha: float, beta: float, t: float
) -> torch.Tensor:
    """mdistiller's batch-mean DKD at one scalar T (masks by −1000, logs of probabilities)."""
    gt = F.one_hot(target, zs.shape[1]).float()
    other = 1 - gt
    p_s, p_t = F.softmax(zs / t, 1), F.softmax(zt / t, 1)
    b_s = torch.stack([(p_s * gt).sum(1), (p_s * other).sum(1)], 1)
    b_t = torch.stack([(p_t * gt).sum(1), (p_t * other).sum(1)], 1)
    tckd = F.kl_div(torch.log(b_s), b_t, reduction="sum") * t**2 / zs.shape[0]
    nckd = F.kl_div(F.log_softmax(zs / t - 1000.0 * gt, 1), F.softmax(zt / t - 1000.0 * gt, 1), reduction="sum")
    return alpha * tckd + beta * nckd * t**2 / zs.shape[0]


def test_constant_temperature_matches_scalar_references() -> None:
    zs, zt, target, _ = random_batch(8, 6)
    for t in (1.0, 4.0, 8.0):
        temps = torch.full((8,), t)
        reference = F.kl_div(F.log_softmax(zs / t, 1), F.softmax(zt / t, 1), reduction="batchmean") * t * t
        assert build_loss("kd")(zs, zt, target, temps).mean().item() == pytest.approx(reference.item(), rel=1e-5)
        reference = mdistiller_dkd(zs, zt, target, 1.0, 8.0, t)
        assert build_loss("dkd")(zs, zt, target, temps).mean().item() == pytest.approx(reference.item(), rel=1e-4)


@pytest.mark.parametrize("name", ["kd", "dkd"])
def test_batched_equals_looped(name: str) -> None:
    zs, zt, target, temps = random_batch(7, 5)
    loss = build_loss(name)
    batched = loss(zs, zt, target, temps)
    looped = torch.cat([loss(zs[i : i + 1], zt[i : i + 1], target[i : i + 1], temps[i : i + 1]) for i in range(7)])
    assert batched.shape == (7,)  # no [B]·[B, 1] → [B, B] broadcast
    assert torch.allclose(batched, looped, atol=1e-6)


@pytest.mark.parametrize("name", ["kd", "dkd"])
def test_perturbing_one_temperature_changes_only_its_loss(name: str) -> None:
    zs, zt, target, temps = random_batch(6, 5)
    loss = build_loss(name)
    before = loss(zs, zt, target, temps)
    for j in range(6):
        changed = temps.clone()
        changed[j] += 1.5
        diff = (loss(zs, zt, target, changed) - before).abs()
        assert diff[j] > 1e-6
        assert torch.all(diff[torch.arange(6) != j] == 0)


@pytest.mark.parametrize("name", ["kd", "dkd"])
def test_gradient_flows_to_the_temperature(name: str) -> None:
    # CTKD learns T by gradient: d loss / d T_i must exist, be per instance, and match finite differences.
    zs, zt, target, temps = random_batch(5, 4)
    loss = build_loss(name)
    temps = temps.double().requires_grad_(True)
    loss(zs.double(), zt.double(), target, temps).sum().backward()
    assert temps.grad is not None and torch.all(temps.grad.abs() > 0)
    per_instance = lambda t: loss(zs.double(), zt.double(), target, t)  # noqa: E731
    assert torch.autograd.gradcheck(per_instance, (temps.detach().requires_grad_(True),))
    student = zs.clone().requires_grad_(True)
    loss(student, zt, target, temps.detach().float()).sum().backward()
    assert student.grad is not None and student.grad.abs().sum() > 0


@pytest.mark.parametrize("name", ["kd", "dkd"])
@pytest.mark.parametrize("shape", [(), (4, 1), (5,), (1,)])
def test_wrong_temperature_shape_is_rejected(name: str, shape: tuple[int, ...]) -> None:
    zs, zt, target, _ = random_batch(4, 3)
    with pytest.raises(RLKDError, match=r"temperature must have shape \[B\]=\[4\]"):
        build_loss(name)(zs, zt, target, torch.full(shape, 4.0))


def test_unknown_loss_name_lists_known_ones() -> None:
    with pytest.raises(RLKDError, match="unknown loss 'nope'; known: crd, dkd, kd, pkt, rkd, sp, srrl, vid"):
        build_loss("nope")


def test_unknown_param_names_it_and_the_accepted_ones() -> None:
    with pytest.raises(RLKDError, match="unknown parameter 'gamma' for loss 'dkd'; accepted: alpha, beta"):
        build_loss("dkd", gamma=1.0)
    with pytest.raises(RLKDError, match="unknown parameter 'beta' for loss 'kd'; accepted: \\(none\\)"):
        build_loss("kd", beta=1.0)
    with pytest.raises(RLKDError, match="beta must be >= 0"):
        build_loss("dkd", beta=-1.0)


def test_dkd_needs_two_classes() -> None:
    with pytest.raises(RLKDError, match="at least 2 classes"):
        build_loss("dkd")(torch.zeros(2, 1), torch.zeros(2, 1), torch.zeros(2, dtype=torch.long), torch.ones(2))


def test_small_temperature_stays_finite() -> None:
    # Large logits over a small T: the log-sum-exp forms must not produce inf or NaN.
    zs, zt, target, _ = random_batch(4, 5)
    temps = torch.full((4,), 0.05)
    for name in ("kd", "dkd"):
        assert torch.isfinite(build_loss(name)(zs * 10, zt * 10, target, temps)).all()
