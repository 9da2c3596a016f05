"""The run's temperature distribution over epochs, drawn from the metrics already logged to MLflow.

Drawing from the logged history (not from memory) means a run that was restarted from a checkpoint still gets
the plot of every epoch. Shown per epoch: the mean over its batches of each batch's mean T, ± the mean over its
batches of each batch's std of T (``temp/mean``, ``temp/std``: the spread within a batch, not across the epoch),
and the quantiles of the epoch's last batch (rank 0) where the policy exposes per-instance temperatures.
"""
from __future__ import annotations

from typing import Any

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def quantile_keys() -> list[str]:
    return [f"temp/q{int(q * 100):02d}" for q in QUANTILES]


def last_batch_quantiles(policy: Any) -> dict[str, float]:
    """Quantiles of the last batch's per-instance T, if the policy keeps them (RLKD after warm-up)."""
    temps = getattr(policy, "last_temperatures", None)
    if temps is None or temps.numel() == 0:
        return {}
    import torch

    values = torch.quantile(temps.detach().float().cpu(), torch.tensor(QUANTILES))
    return dict(zip(quantile_keys(), (float(v) for v in values)))


def draw(history: dict[str, dict[int, float]], title: str):
    """``history``: metric key -> {epoch: value}. Returns a matplotlib Figure (Agg backend, no display)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4), dpi=100)
    ax = fig.add_subplot()
    mean, std = history.get("temp/mean", {}), history.get("temp/std", {})
    epochs = sorted(mean)
    if epochs:
        m = [mean[e] for e in epochs]
        s = [std.get(e, 0.0) for e in epochs]
        ax.plot(epochs, m, color="C0", label="mean T (all instances)")
        ax.fill_between(epochs, [a - b for a, b in zip(m, s)], [a + b for a, b in zip(m, s)], color="C0", alpha=0.2,
                        label="± std")
    q = [history.get(k, {}) for k in quantile_keys()]
    q_epochs = sorted(set(q[0]) & set(q[-1]) & set(q[2])) if q[0] else []
    if q_epochs:
        ax.fill_between(q_epochs, [q[0][e] for e in q_epochs], [q[-1][e] for e in q_epochs], color="C1", alpha=0.15,
                        label="5–95 % (last batch)")
        ax.plot(q_epochs, [q[2][e] for e in q_epochs], color="C1", linestyle="--", label="median (last batch)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("temperature T")
    ax.set_title(title)
    if epochs or q_epochs:
        ax.legend(loc="best", fontsize=8)
    else:
        ax.text(0.5, 0.5, "no temperatures logged", ha="center", va="center", transform=ax.transAxes)
    fig.tight_layout()
    return fig


def log_temperature_plot(mlflow_client: Any, run_id: str, title: str) -> None:
    """temperature.png from the run's logged history (so every epoch is in it, across restarts)."""
    history = {key: {int(m.step): m.value for m in mlflow_client.get_metric_history(run_id, key)}
               for key in ["temp/mean", "temp/std", *quantile_keys()]}
    mlflow_client.log_figure(run_id, draw(history, title), "temperature.png")
