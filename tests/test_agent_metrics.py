"""The agent's scalar signals and diagnostics on hand-built inputs: macro vs plain batch accuracy (the reward
signal), explained variance (a PPO diagnostic) and the per-epoch Meter that averages them."""
from __future__ import annotations

import math

import pytest
import torch

from rlkd.agent import batch_accuracy, explained_variance, macro_accuracy
from rlkd.metrics import Meter


def logits_for(predictions: list[int], num_classes: int) -> torch.Tensor:
    """Logits whose argmax is ``predictions`` (one-hot × 5, so no ties)."""
    return 5.0 * torch.nn.functional.one_hot(torch.tensor(predictions), num_classes).float()


# ---- macro_accuracy (official reward signal) vs batch_accuracy (paper) --------------------------------------
# 3 classes; class 1 never appears as a label (but is predicted once).
#   labels      [0, 0, 0, 0, 2]
#   predictions [0, 0, 0, 1, 0]
#   class 0: 3 of 4 right = .75;  class 2: 0 of 1 right = 0;  class 1: absent, not averaged
#   macro = (.75 + 0) / 2 = .375     micro (plain) = 3 / 5 = .6
#   (counting the absent class as 0 would give .25, as 1 would give .583…: both must fail)
LABELS = torch.tensor([0, 0, 0, 0, 2])
PRED = [0, 0, 0, 1, 0]


def test_macro_accuracy_by_hand_with_an_absent_class() -> None:
    logits = logits_for(PRED, 3)
    assert macro_accuracy(logits, LABELS) == pytest.approx(0.375, abs=1e-7)  # a fraction in [0, 1], not %
    assert batch_accuracy(logits, LABELS) == pytest.approx(0.6, abs=1e-7)


def test_macro_accuracy_ignores_the_order_of_the_batch() -> None:
    perm = torch.tensor([4, 2, 0, 3, 1])
    assert macro_accuracy(logits_for(PRED, 3)[perm], LABELS[perm]) == pytest.approx(0.375, abs=1e-7)


def test_macro_equals_micro_when_classes_are_balanced() -> None:
    # 2 per class; right: class 0 both, class 1 one, class 2 none → per class [1, .5, 0], macro .5; micro 3/6 = .5
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    logits = logits_for([0, 0, 1, 0, 0, 1], 3)
    assert macro_accuracy(logits, labels) == pytest.approx(0.5, abs=1e-7)
    assert batch_accuracy(logits, labels) == pytest.approx(0.5, abs=1e-7)


def test_macro_accuracy_extremes() -> None:
    labels = torch.tensor([3, 1, 1, 3])
    assert macro_accuracy(logits_for([3, 1, 1, 3], 5), labels) == 1.0
    assert macro_accuracy(logits_for([0, 0, 0, 0], 5), labels) == 0.0


def test_macro_accuracy_equals_a_per_class_loop() -> None:
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        logits = torch.randn(37, 10, generator=g)
        labels = torch.randint(0, 10, (37,), generator=g)
        per_class = []
        for c in range(10):  # the official code's loop over the classes present
            rows = labels == c
            if rows.any():
                per_class.append(float((logits[rows].argmax(1) == c).float().mean()))
        assert macro_accuracy(logits, labels) == pytest.approx(sum(per_class) / len(per_class), abs=1e-6)


# ---- explained variance: 1 − Var(R − V) / Var(R), biased variances, NaN when Var(R) = 0 --------------------

RETURNS = torch.tensor([1.0, 2.0, 3.0, 4.0])


def test_explained_variance_perfect_and_mean_predictions() -> None:
    assert explained_variance(RETURNS.clone(), RETURNS) == pytest.approx(1.0)
    # predicting the mean (2.5) everywhere: Var(R − 2.5) = Var(R) → 0
    assert explained_variance(torch.full((4,), 2.5), RETURNS) == pytest.approx(0.0, abs=1e-7)
    # a constant offset is not penalised: Var(R − (R + 5)) = 0 → 1
    assert explained_variance(RETURNS + 5.0, RETURNS) == pytest.approx(1.0)


def test_explained_variance_worked_example() -> None:
    # V = [1, 2, 3, 3]: residual R − V = [0, 0, 0, 1], mean .25,
    #   Var = (3·.25² + .75²) / 4 = (.1875 + .5625) / 4 = .1875
    #   Var(R) = mean((R − 2.5)²) = (2.25 + .25 + .25 + 2.25) / 4 = 1.25
    #   EV = 1 − .1875 / 1.25 = 1 − .15 = .85
    assert explained_variance(torch.tensor([1.0, 2.0, 3.0, 3.0]), RETURNS) == pytest.approx(0.85, abs=1e-6)
    # worse than the mean: R = [1, 3], V = [3, 1] → residual [−2, 2], Var 4; Var(R) = 1 → EV = 1 − 4 = −3
    assert explained_variance(torch.tensor([3.0, 1.0]), torch.tensor([1.0, 3.0])) == pytest.approx(-3.0)


def test_explained_variance_is_nan_when_returns_do_not_vary() -> None:
    ev = explained_variance(torch.tensor([0.0, 1.0, 2.0]), torch.full((3,), 7.0))
    assert isinstance(ev, float) and math.isnan(ev)
    assert math.isnan(explained_variance(torch.tensor([3.0]), torch.tensor([5.0])))  # B = 1: one return


# ---- Meter: per-name running means, NaNs skipped, reset per epoch -------------------------------------------

def test_meter_means_skip_nan_and_reset() -> None:
    meter = Meter()
    meter.add({"ppo/explained_variance": 0.5, "ppo/clipfrac": 0.25})
    meter.add({"ppo/explained_variance": float("nan"), "ppo/clipfrac": 0.75})  # a constant-return buffer
    for _ in range(3):
        meter.add({"ppo/explained_variance": 0.1})
    # EV: (.5 + 3·.1) / 4 = .2 (the NaN neither adds nor counts);  clipfrac: (.25 + .75) / 2 = .5
    assert meter.summary() == pytest.approx({"ppo/explained_variance": 0.2, "ppo/clipfrac": 0.5})
    assert meter.reset() == pytest.approx({"ppo/explained_variance": 0.2, "ppo/clipfrac": 0.5})
    assert meter.summary() == {}


def test_meter_drops_a_metric_that_was_only_ever_nan() -> None:
    meter = Meter()
    meter.add({"ppo/explained_variance": float("nan"), "temp/mean": 4.0})
    assert meter.reset() == {"temp/mean": 4.0}
