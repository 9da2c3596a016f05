"""Per-epoch temperature analysis: which instances are kept, their uncertainty, entropy ranks, correlations."""
from __future__ import annotations

import math

import torch

from rlkd.analysis import TemperatureSample, entropy_rank
from rlkd_platform.tracking.analysis_plot import binned_mean, correlations, draw_epoch


def test_sample_keeps_a_fixed_strided_subset_of_clean_instances():
    sample = TemperatureSample(num_data=10, max_points=4)  # stride ceil(10 / 4) = 3: indices 0, 3, 6, 9
    assert sample.stride == 3
    index = torch.tensor([0, 1, 3, 12, 9])  # 12 >= num_data: a mixed exploration instance, left out
    temps = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0])
    # student probs (0.5, 0.3, 0.2) -> uncertainty 1 - (0.5 - 0.3) = 0.8 ; one-hot-ish logits -> near 0
    student = torch.log(torch.tensor([[0.5, 0.3, 0.2]])).repeat(5, 1)
    student[4] = torch.tensor([20.0, 0.0, 0.0])
    sample.start_epoch()
    sample.add(index, temps, student)
    points = sample.arrays()
    assert points["index"].tolist() == [0, 3, 9]
    assert points["temperature"].tolist() == [1.0, 3.0, 5.0]
    torch.testing.assert_close(points["uncertainty"][:2], torch.tensor([0.8, 0.8]))
    assert float(points["uncertainty"][2]) < 1e-6
    sample.start_epoch()
    assert sample.arrays()["index"].numel() == 0


def test_entropy_rank_is_the_position_in_the_ranking():
    ranking = torch.tensor([2, 0, 3, 1])  # instance 2 has the highest mean entropy
    assert entropy_rank(ranking).tolist() == [0.25, 0.75, 0.0, 0.5]


def test_correlations_and_binned_means_on_hand_values():
    points = {"temperature": torch.tensor([1.0, 2.0, 3.0, 4.0]), "uncertainty": torch.tensor([0.1, 0.2, 0.3, 0.4]),
              "entropy_rank": torch.tensor([0.4, 0.3, 0.2, 0.1])}
    r = correlations(points)
    assert math.isclose(r["analysis/corr_T_uncertainty"], 1.0, abs_tol=1e-9)
    assert math.isclose(r["analysis/corr_T_entropy_rank"], -1.0, abs_tol=1e-9)
    assert correlations({**points, "temperature": torch.full((4,), 4.0)})["analysis/corr_T_uncertainty"] == 0.0
    centres, means = binned_mean(torch.tensor([0.05, 0.07, 0.95]), torch.tensor([1.0, 3.0, 5.0]), 0.0, 1.0)
    assert [round(c, 2) for c in centres] == [0.05, 0.95] and means == [2.0, 5.0]


def test_draw_epoch_has_both_panels_and_the_windows():
    points = {"index": torch.arange(50), "temperature": torch.linspace(1, 9, 50),
              "uncertainty": torch.rand(50, generator=torch.Generator().manual_seed(0)),
              "entropy_rank": torch.linspace(0, 0.98, 50)}
    fig = draw_epoch(points, 3, "run", {"high-entropy window": (0.1, 0.2), "partner window": (0.4, 0.5)})
    left, right = fig.axes
    assert left.get_xlabel().startswith("student uncertainty") and right.get_xlabel().startswith("entropy rank")
    assert len(right.patches) == 2 and "epoch 3" in fig._suptitle.get_text()
