"""Start-up progress lines of a sweep, one per step with its duration."""
from __future__ import annotations

import contextlib
import time
from typing import Iterator


@contextlib.contextmanager
def phase(what: str) -> Iterator[None]:
    """One progress line per start-up step, with its duration (start-up is most of a small sweep's wall time)."""
    start = time.perf_counter()
    yield
    print(f"[rlkd] {what}: {time.perf_counter() - start:.1f} s", flush=True)
