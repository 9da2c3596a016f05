"""Analysis beyond the paper: where does the agent put high and low temperatures?

One figure per epoch of a run with per-instance T (RLKD, instance CTKD), from the trainer's
``TemperatureSample`` (rank 0's instances): T against the student's uncertainty 1 − (p1 − p2), and T against
the instance's entropy rank (0 = most uncertain on average so far), with the exploration windows shaded.
Each panel draws the instances and their binned mean; the Pearson correlations are also logged as metrics
(``analysis/corr_T_uncertainty``, ``analysis/corr_T_entropy_rank``) so their course over epochs is one chart
in the MLflow UI.
"""
from __future__ import annotations

from typing import Any

import torch

from rlkd.analysis import entropy_rank

BINS = 10


def epoch_points(trainer: Any) -> dict[str, torch.Tensor] | None:
    """T, uncertainty and entropy rank of the sampled instances of the epoch just trained (None: nothing kept)."""
    sample = getattr(trainer, "temperature_sample", None)
    if sample is None:
        return None
    points = sample.arrays()
    if points["index"].numel() < 2:
        return None
    points["entropy_rank"] = entropy_rank(trainer.entropy.ranking())[points["index"]].float()
    return points


def correlations(points: dict[str, torch.Tensor]) -> dict[str, float]:
    """Pearson r of T with uncertainty and with entropy rank (NaN-free: 0.0 when T is constant)."""
    out = {}
    for key, name in (("uncertainty", "analysis/corr_T_uncertainty"), ("entropy_rank", "analysis/corr_T_entropy_rank")):
        pair = torch.stack([points["temperature"].double(), points[key].double()])
        r = torch.corrcoef(pair)[0, 1] if bool((pair.std(dim=1) > 0).all()) else torch.tensor(0.0)
        out[name] = float(r)
    return out


def binned_mean(x: torch.Tensor, y: torch.Tensor, lo: float, hi: float) -> tuple[list[float], list[float]]:
    """Centres and mean y of BINS equal-width bins of x over [lo, hi] (empty bins left out)."""
    edges = torch.linspace(lo, hi, BINS + 1)
    which = torch.bucketize(x.double().clamp(lo, hi), edges.double()[1:-1])
    centres, means = [], []
    for b in range(BINS):
        mask = which == b
        if bool(mask.any()):
            centres.append(float((edges[b] + edges[b + 1]) / 2))
            means.append(float(y[mask].mean()))
    return centres, means


def draw_epoch(points: dict[str, torch.Tensor], epoch: int, title: str, windows: dict[str, tuple[float, float]]):
    """Two panels for one epoch; ``windows``: label -> [start, end) of the entropy ranking (fractions)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4), dpi=100)
    temps = points["temperature"]
    r = correlations(points)
    panels = (("uncertainty", "student uncertainty 1 − (p1 − p2)", r["analysis/corr_T_uncertainty"]),
              ("entropy_rank", "entropy rank (0 = highest mean entropy)", r["analysis/corr_T_entropy_rank"]))
    for i, (key, label, corr) in enumerate(panels):
        ax = fig.add_subplot(1, 2, i + 1)
        x = points[key]
        ax.scatter(x.numpy(), temps.numpy(), s=4, alpha=0.3, color="C0", label=f"instances (n={len(x)})")
        centres, means = binned_mean(x, temps, 0.0, 1.0)
        ax.plot(centres, means, color="C3", marker="o", label="binned mean")
        if key == "entropy_rank":
            for j, (name, (lo, hi)) in enumerate(windows.items()):
                ax.axvspan(lo, hi, color=f"C{j + 1}", alpha=0.15, label=name)
        ax.set_xlim(0, 1)
        ax.set_xlabel(label)
        ax.set_ylabel("temperature T")
        ax.set_title(f"r = {corr:+.2f}", fontsize=9)
        ax.legend(loc="best", fontsize=7)
    fig.suptitle(f"{title}: epoch {epoch}", fontsize=10)
    fig.tight_layout()
    return fig


def exploration_windows(cfg: Any) -> dict[str, tuple[float, float]]:
    e = cfg.exploration
    if not e.enabled:
        return {}
    return {"high-entropy window": (e.high_start, e.high_start + e.width),
            "partner window": (e.partner_start, e.partner_start + e.width)}
