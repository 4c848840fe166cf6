"""Shared by the bench scripts (run as ``python bench/X.py``, so this folder is on sys.path)."""

from __future__ import annotations

import time


def best_time(fn, reps: int = 2) -> float:
    """Seconds of the fastest of ``reps`` calls of ``fn``, after one warm-up call."""
    fn()  # warm
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best
