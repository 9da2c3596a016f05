"""Helpers shared by the platform tests (a plain module: ``from conftest import`` breaks with several conftests)."""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # Ray workers get the driver's cwd on sys.path; the test process needs it too
    sys.path.insert(0, str(ROOT))

# Quickstart shrunk: a 5-epoch teacher, 1 warm-up epoch (the agent learns from epoch 1), one thread per worker.
TINY = ["model.teacher_pretrain_epochs=5", "agent.warmup_epochs=1", "threads=1",
        "optim.milestones=[2]"]


SEARCH_EPOCHS = 3


def tiny(epochs: int = 3, *extra: str) -> list[str]:
    return [f"optim.epochs={epochs}", *TINY, *extra]


def mlflow_client(server):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=server.uri)


def history(client, run_id: str, key: str) -> list[tuple[int, float]]:
    return sorted((int(m.step), m.value) for m in client.get_metric_history(run_id, key))
