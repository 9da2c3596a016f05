"""Connecting to Ray: a local Ray for the sweep, or a running cluster; and how many trials fit at once.

An unreachable ``ray.address`` must fail in seconds, not after Ray's own connection retries (minutes when
something that is not Ray answers there), so a host:port is probed first: a TCP connect, then the HTTP/2
handshake every gRPC server (Ray's GCS included) answers with a SETTINGS frame. Raw sockets on purpose: the
grpc library in the driver before Ray starts its processes breaks their fork handlers.
Trials never ask for more than a node can give: a one-worker trial asks for its worker's CPUs/GPUs; a
multi-worker trial's thin driver asks for ``driver_resources`` only (1 byte of logical memory by default,
since 1 CPU for it plus 2 workers never fits a 2-core machine).
"""
from __future__ import annotations

import contextlib
import os
import socket
from typing import Any, Iterator

from rlkd.errors import RLKDError

CONNECT_TIMEOUT_S = 3.0
# Ray Train's controller polls its workers every 2 s by default, and a worker's report waits for that poll:
# with epochs of a few seconds that is a stall per epoch. 0.5 s costs nothing. Inherited by a local Ray's
# processes; on a cluster the same variable is set in cluster.yaml's `ray start` commands.
LOCAL_RAY_ENV = {"RAY_TRAIN_HEALTH_CHECK_INTERVAL_S": "0.5"}


def check_address(address: str | None) -> None:
    if address in (None, "", "auto", "local"):
        return
    target = address.split("://", 1)[-1]
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise RLKDError(f"ray.address={address}: expected host:port (the head's GCS port, usually 6379) or auto")
    try:
        grpc = _speaks_http2(host, int(port))
    except OSError as err:
        raise RLKDError(f"ray.address={address}: nothing answers there ({err.strerror or err}); start the cluster "
                        "(`ray up cluster.yaml` or `ray start --head`) or drop ray.address to run locally") from None
    if not grpc and not os.environ.get("RAY_USE_TLS"):
        raise RLKDError(f"ray.address={address}: something answers there, but not Ray (no gRPC); give the head's "
                        "GCS address (port 6379 by default) or auto")


def _speaks_http2(host: str, port: int) -> bool:
    """Send the HTTP/2 client preface and an empty SETTINGS frame; a gRPC server's first frame is SETTINGS."""
    with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S) as sock:
        sock.settimeout(CONNECT_TIMEOUT_S)
        sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        frame = b""
        try:
            while len(frame) < 9:
                chunk = sock.recv(9 - len(frame))
                if not chunk:
                    break
                frame += chunk
        except OSError:  # connected, then silence or a reset: not a gRPC server
            return False
        return len(frame) == 9 and frame[3] == 0x04  # byte 3 of a frame header is its type; 0x4 = SETTINGS


@contextlib.contextmanager
def ray_session(address: str | None, num_cpus: int | None, dashboard: bool) -> Iterator[bool]:
    """Yields True when this call started Ray (and so shuts it down again)."""
    import ray

    if ray.is_initialized():  # an embedding program (or a test) already connected: use that cluster as is
        yield False
        return
    try:
        if address:
            ray.init(address=address)
        else:
            for key, value in LOCAL_RAY_ENV.items():
                os.environ.setdefault(key, value)
            ray.init(num_cpus=num_cpus, include_dashboard=dashboard)
    except ConnectionError as err:
        raise RLKDError(f"ray.address={address}: {str(err).splitlines()[0]}") from None
    try:
        yield True
    finally:
        ray.shutdown()


def trial_resources(workers: int, cpus: float, gpus: float, driver: dict[str, float]) -> dict[str, float]:
    if workers == 1:
        return {"cpu": cpus, "gpu": gpus}
    return dict(driver)


def max_concurrent(workers: int, cpus: float, gpus: float, asked: int | None) -> int:
    """Trials that fit at once: otherwise extra trial drivers hold their slot while waiting for workers."""
    if asked:
        return asked
    import ray

    total: dict[str, Any] = ray.cluster_resources()
    fits = [int(total.get("CPU", 0) // (workers * cpus))]
    if gpus > 0:
        fits.append(int(total.get("GPU", 0) // (workers * gpus)))
    return max(1, min(fits))
