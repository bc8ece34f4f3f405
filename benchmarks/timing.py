"""Shared timing helper of the benchmark scripts (run them as `python benchmarks/<name>.py`)."""

from __future__ import annotations

import time


def timed(fn, repeat: int = 3) -> float:
    """Best wall time (s) of `repeat` calls of fn()."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best
