"""The tracking store: a local ``mlflow server`` started and stopped by the platform, or a running one checked.

Why a server even on one machine: Ray workers, trial actors and the driver all write runs at once, and several
processes writing one SQLite file is the failure mode of Optuna #820. One ``mlflow server`` process in front of
the file makes it one writer; everyone else talks HTTP to it. The server is bound to loopback on a free port and
dies with the driver (PR_SET_PDEATHSIG on Linux), so a ``kill -9`` of the sweep never leaves a second writer behind.
"""
from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Iterator

from rlkd.errors import RLKDError

HEALTH_TIMEOUT_S = 3.0  # an answer from a healthy server takes milliseconds; anything slower is "unreachable"
START_TIMEOUT_S = 60.0  # measured: ready in 9.4 s on the 2-core box; 60 s leaves room for a loaded CI machine


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def is_healthy(uri: str, timeout: float = HEALTH_TIMEOUT_S) -> bool:
    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout) as reply:
            return reply.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def check_reachable(uri: str) -> None:
    """Fail in seconds, with one line, when nothing healthy answers at ``uri``."""
    if not uri.startswith(("http://", "https://")):
        raise RLKDError(
            f"mlflow.tracking_uri={uri}: use an MLflow server (http://host:port), a sqlite:///<file>.db the "
            "platform serves itself, or null for the default local store"
        )
    if not is_healthy(uri):
        raise RLKDError(
            f"mlflow.tracking_uri={uri}: no MLflow server answers at {uri}/health within {HEALTH_TIMEOUT_S:.0f} s; "
            "start it (on a cluster: the head's `mlflow server`) or leave mlflow.tracking_uri unset"
        )


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class LocalTrackingServer:
    """``mlflow server`` over one SQLite file, on a free loopback port, owned by this process."""

    db_path: Path
    artifacts: Path
    port: int = 0
    process: subprocess.Popen | None = None
    log_path: Path | None = None
    _lock: IO[str] | None = field(default=None, repr=False)

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def backend_uri(self) -> str:
        return f"sqlite:///{self.db_path}"

    def launch(self, log_path: Path) -> "LocalTrackingServer":
        """Start the process and return at once (callers can start Ray while it boots, ~5-20 s)."""
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = open(self.db_path.with_suffix(".lock"), "w")
        try:  # the kernel drops the lock when this process dies, so a killed sweep never blocks the next one
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RLKDError(
                f"another sweep is serving {self.db_path}; run one sweep per out= folder at a time, or point both "
                "at one server with mlflow.tracking_uri=http://..."
            ) from None
        self.port = self.port or free_port()
        env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": os.environ.get("MLFLOW_DISABLE_TELEMETRY", "true"),
               "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}  # no GenAI job runner: 8 s faster to stop
        self.log_path = log_path
        with open(log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", self.backend_uri,
                 "--artifacts-destination", str(self.artifacts), "--host", "127.0.0.1", "--port", str(self.port),
                 "--workers", "1"],
                stdout=log, stderr=subprocess.STDOUT, env=env, preexec_fn=_die_with_parent,
            )
        return self

    def wait_ready(self) -> "LocalTrackingServer":
        assert self.process is not None, "launch() first"
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RLKDError(f"mlflow server exited with code {self.process.returncode}; see {self.log_path}")
            if is_healthy(self.uri, timeout=1.0):
                return self
            time.sleep(0.25)
        self.stop()
        raise RLKDError(f"mlflow server did not answer within {START_TIMEOUT_S:.0f} s; see {self.log_path}")

    def stop(self) -> None:
        """SIGTERM stops the CLI process and its uvicorn and job-runner children (measured)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self._lock is not None:
            self._lock.close()
            self._lock = None


@dataclass
class Store:
    """A tracking store in use: its URI, how to open its UI, and ``ready()`` blocking until it answers."""

    uri: str
    ui_hint: str
    ready: Callable[[], Any]


@contextlib.contextmanager
def tracking_store(uri: str | None, out: Path) -> Iterator[Store]:
    """The tracking URI everyone uses: a running server (checked to answer, in seconds), or an embedded one over
    ``<out>/mlflow.db`` (or the given ``sqlite:///`` file) launched here and waited for later (``ready``), so its
    start-up (5-20 s: the SQLite schema) overlaps other work. The sweep and the report read a store the same
    way: artifacts (``mlflow-artifacts:/``) are proxied by the server, so a bare SQLite URI never suffices."""
    if uri and not uri.startswith("sqlite:///"):  # a running server
        check_reachable(uri)
        yield Store(uri, f"open {uri}", lambda: None)
        return
    db = Path(uri[len("sqlite:///"):]).resolve() if uri else out / "mlflow.db"
    server = LocalTrackingServer(db, db.parent / "mlartifacts").launch(db.parent / "mlflow-server.log")
    try:
        yield Store(server.uri, f"mlflow ui --backend-store-uri {server.backend_uri} --artifacts-destination "
                                f"{server.artifacts} --port 5000   # then open http://127.0.0.1:5000",
                    server.wait_ready)
    finally:
        server.stop()
