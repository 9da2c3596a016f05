"""CTKD's gradient-reversal layer and its strength schedule λ(E) = (1 − cos(π·min(E / ramp, 1))) / 2."""
from __future__ import annotations

import math

import pytest
import torch

from rlkd.policies.ctkd import GradientReversal, reversal_strength


@pytest.mark.parametrize("ramp", [2, 10, 40])
def test_reversal_strength_by_hand(ramp: int) -> None:
    assert reversal_strength(0, ramp) == pytest.approx(0.0, abs=1e-12)  # (1 − cos 0) / 2
    assert reversal_strength(ramp // 2, ramp) == pytest.approx(0.5, abs=1e-12)  # (1 − cos π/2) / 2
    assert reversal_strength(ramp, ramp) == pytest.approx(1.0, abs=1e-12)  # (1 − cos π) / 2
    assert reversal_strength(ramp + 1, ramp) == pytest.approx(1.0, abs=1e-12)  # held at 1 after the ramp
    assert reversal_strength(10 * ramp, ramp) == pytest.approx(1.0, abs=1e-12)


def test_reversal_strength_quarter_points() -> None:
    # E = ramp/4: (1 − cos π/4) / 2 = (1 − √2/2) / 2 = .1464466;  E = 3·ramp/4: (1 + √2/2) / 2 = .8535534
    assert reversal_strength(5, 20) == pytest.approx((1 - math.sqrt(0.5)) / 2, abs=1e-12)
    assert reversal_strength(15, 20) == pytest.approx((1 + math.sqrt(0.5)) / 2, abs=1e-12)
    assert reversal_strength(5, 20) == pytest.approx(0.1464466, abs=1e-7)


def test_reversal_strength_is_monotone_and_bounded() -> None:
    ramp = 20
    values = [reversal_strength(e, ramp) for e in range(0, 3 * ramp)]
    assert all(0.0 <= v <= 1.0 for v in values)
    assert all(b > a for a, b in zip(values[: ramp], values[1 : ramp + 1]))  # strictly rising over the ramp
    assert all(v == pytest.approx(1.0) for v in values[ramp:])


def test_gradient_reversal_forward_is_identity() -> None:
    x = torch.tensor([[-1.5, 0.0, 2.25]], requires_grad=True)
    y = GradientReversal.apply(x, 0.7)
    assert y.shape == x.shape and torch.equal(y.detach(), x.detach())
    assert y.requires_grad


@pytest.mark.parametrize("lam", [0.0, 0.3, 1.0])
def test_gradient_reversal_backward_is_minus_lambda_times_the_gradient(lam: float) -> None:
    # loss = Σ w·y with y = GR(x): ∂loss/∂y = w, so ∂loss/∂x = −λ·w
    x = torch.tensor([0.5, -2.0, 3.0], dtype=torch.float64, requires_grad=True)
    w = torch.tensor([1.0, 2.0, -4.0], dtype=torch.float64)
    (w * GradientReversal.apply(x, lam)).sum().backward()
    assert x.grad is not None
    assert x.grad.tolist() == pytest.approx([-lam * 1.0, -lam * 2.0, lam * 4.0], abs=1e-12)


def test_gradient_reversal_through_a_nonlinearity_matches_autograd_of_the_plain_function() -> None:
    # d/dθ sigmoid(GR(θ)) = −λ · sigmoid'(θ): the reversal flips the sign and scales, nothing else.
    theta = torch.linspace(-2, 2, 5, dtype=torch.float64, requires_grad=True)
    lam = 0.4
    (grad_reversed,) = torch.autograd.grad(torch.sigmoid(GradientReversal.apply(theta, lam)).sum(), theta)
    (grad_plain,) = torch.autograd.grad(torch.sigmoid(theta).sum(), theta)
    assert torch.allclose(grad_reversed, -lam * grad_plain, atol=1e-12)
    assert torch.all(grad_plain > 0) and torch.all(grad_reversed < 0)
