"""Shared, real infrastructure for the platform tests: one local multi-node Ray cluster, one MLflow server.

Both are session-scoped (starting them is most of a small test's cost) and stopped right after the last test
of this folder, so the rest of the suite does not share two cores with an idle cluster. The cluster is the
one Ray's own tests use (``ray.cluster_utils.Cluster``): a head and a worker node, one CPU each, as separate
processes, so a two-worker trial really spans two nodes. The run config is the quickstart preset shrunk to
seconds.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

# Before Ray or MLflow is imported anywhere: no token file in HOME, no telemetry, fast Train polling.
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("RAY_DEDUP_LOGS", "0")
os.environ.setdefault("RAY_TRAIN_HEALTH_CHECK_INTERVAL_S", "0.2")  # default 2 s: each report surfaces late
os.environ.setdefault("RAY_TRAIN_ENABLE_PREEMPTION_WATCHER", "0")
os.environ.setdefault("RAY_TRAIN_METRICS_ENABLED", "0")

from platform_helpers import SEARCH_EPOCHS, tiny  # noqa: E402  (also puts the project root on sys.path)

_STOP: list = []  # how to stop what the fixtures started, newest first; emptied once done
HERE = Path(__file__).resolve().parent


def _stop_all() -> None:
    while _STOP:
        _STOP.pop(0)()


def pytest_runtest_teardown(item, nextitem):
    """After the last test of this folder (pytest passes the next item here; ``Item.nextitem`` is always None)."""
    if nextitem is None or HERE not in Path(nextitem.path).resolve().parents:
        _stop_all()


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    from rlkd_platform.tracking.server import LocalTrackingServer

    root = tmp_path_factory.mktemp("mlflow")
    server = LocalTrackingServer(root / "mlflow.db", root / "mlartifacts").launch(root / "server.log")
    _STOP.append(server.stop)
    yield server  # ready once ray_cluster (which waits for it) is up
    _stop_all()


@pytest.fixture(scope="session")
def ray_cluster(mlflow_server):
    """Head + worker node, 1 CPU each; the test process is the Ray driver for in-process sweeps."""
    import ray
    from ray.cluster_utils import Cluster

    start = time.perf_counter()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": True,
                                                            "object_store_memory": 200 * 1024**2})
    cluster.add_node(num_cpus=1, object_store_memory=200 * 1024**2)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, log_to_driver=True)
    mlflow_server.wait_ready()
    print(f"\n[fixtures] cluster + mlflow server up in {time.perf_counter() - start:.1f} s", flush=True)
    _STOP.insert(0, lambda: (ray.shutdown(), cluster.shutdown()))
    yield cluster
    _stop_all()


@pytest.fixture(scope="session")
def infra(ray_cluster, mlflow_server):
    """Override items that point a sweep at the shared cluster and server."""
    return {"cluster": ray_cluster, "server": mlflow_server,
            "args": [f"ray.address={ray_cluster.address}", f"mlflow.tracking_uri={mlflow_server.uri}"]}


@pytest.fixture(scope="session")
def search(tmp_path_factory, infra):
    """A finished 3-trial Optuna search over the four knobs (used by the search and the bad-input tests)."""
    from rlkd_platform.driver.settings import load_settings
    from rlkd_platform.driver.sweep import run

    settings = load_settings([f"out={tmp_path_factory.mktemp('search')}", "search=rlkd", "trials=3", *infra["args"],
                              *tiny(SEARCH_EPOCHS)])
    start = time.perf_counter()
    outcome = run(settings)
    print(f"\n[timing] 3-trial search (1 worker each, 2 at a time): {time.perf_counter() - start:.1f} s")
    return settings, outcome
