"""Entropy ranking, windows and mixup of efficient exploration, by hand."""
from __future__ import annotations

import math

import pytest
import torch
from torch.utils.data import Dataset

from rlkd.config import ExplorationConfig
from rlkd.exploration import (
    EntropyTracker,
    MixedDataset,
    batch_targets,
    build_plan,
    exploration_active,
    prediction_entropy,
    window,
)

N = 20


def ranked_tracker() -> EntropyTracker:
    """Instance i gets logits [c_i, 0, 0, 0] with c_i falling in i, so entropy rises with i: rank = [19..0]."""
    tracker = EntropyTracker(N)
    logits = torch.zeros(N, 4)
    logits[:, 0] = torch.linspace(10.0, 0.0, N)
    tracker.update(torch.arange(N), logits)
    tracker.end_epoch()
    return tracker


def test_entropy_by_hand():
    # uniform over 4 classes: ln 4; certain: 0
    h = prediction_entropy(torch.tensor([[0.0, 0.0, 0.0, 0.0], [100.0, 0.0, 0.0, 0.0]]))
    assert torch.allclose(h, torch.tensor([torch.log(torch.tensor(4.0)).item(), 0.0]), atol=1e-6)


def test_running_mean_over_epochs():
    tracker = EntropyTracker(2)
    tracker.update(torch.tensor([0]), torch.zeros(1, 4))  # ln 4
    tracker.end_epoch()
    tracker.update(torch.tensor([0]), torch.tensor([[100.0, 0, 0, 0]]))  # 0
    tracker.end_epoch()
    assert tracker.mean()[0].item() == pytest.approx(math.log(4) / 2)
    assert tracker.mean()[1].item() == float("-inf")  # never seen: ranks last


def test_windows_and_pairs_by_hand():
    ranking = ranked_tracker().ranking()
    assert ranking.tolist() == list(range(N - 1, -1, -1))
    # [10 %, 20 %) of 20 = ranks 2, 3 -> indices 17, 16 ; [40 %, 50 %) = ranks 8, 9 -> indices 11, 10
    assert window(ranking, 0.1, 0.1).tolist() == [17, 16]
    assert window(ranking, 0.4, 0.1).tolist() == [11, 10]
    plan = build_plan(ranking, torch.arange(N) + 100, ExplorationConfig())
    assert plan.hi.tolist() == [17, 16] and plan.partner.tolist() == [11, 10]
    assert plan.partner_label.tolist() == [111, 110]
    assert torch.allclose(plan.pixel_lam, torch.tensor([0.7, 0.7]))
    assert torch.allclose(plan.label_lam, torch.tensor([0.7, 0.7]))


def test_official_lambda_schedule_and_target():
    ranking = ranked_tracker().ranking()
    cfg = ExplorationConfig(lam_schedule="official", target="official", partner_start=0.8)
    plan = build_plan(ranking, torch.arange(N), cfg)
    assert plan.partner.tolist() == [3, 2]  # ranks 16, 17
    assert torch.allclose(plan.pixel_lam, torch.tensor([1.0, 0.7]))  # linear 1.0 -> 0.7 by rank
    assert plan.label_lam.tolist() == [0.0, 0.0]  # the partner keeps its own label


class ConstantImages(Dataset):
    def __len__(self) -> int:
        return N

    def __getitem__(self, i: int):
        return torch.full((1, 2, 2), float(i)), i + 100, i


def test_mixup_pixels_and_targets_by_hand():
    plan = build_plan(ranked_tracker().ranking(), torch.arange(N) + 100, ExplorationConfig())
    mixed = MixedDataset(ConstantImages(), plan)
    x, y, index = mixed[0]
    assert torch.allclose(x, torch.full((1, 2, 2), 0.7 * 17 + 0.3 * 11))  # = 15.2
    assert (y, index) == (117, N)
    t = batch_targets(torch.tensor([117, 105]), torch.tensor([N, 5]), plan)
    assert t.first.tolist() == [117, 105] and t.second.tolist() == [111, 105]
    assert torch.allclose(t.lam, torch.tensor([0.7, 1.0]))
    assert t.major.tolist() == [117, 105] and t.loss_index.tolist() == [17, 5] and t.clean.tolist() == [False, True]


def test_exploration_schedules():
    paper = ExplorationConfig()
    assert [e for e in range(1, 60) if exploration_active(e, 20, paper)] == list(range(20, 40))
    official = ExplorationConfig(schedule="official")
    assert [e for e in range(1, 241) if exploration_active(e, 20, official)] == list(range(40, 241, 20))
    assert not any(exploration_active(e, 20, ExplorationConfig(enabled=False)) for e in range(1, 60))
