"""The timing helper every benchmark shares: median, fastest and slowest of repeated runs.

The median (not the mean) is what BENCHMARKS.md reports, so one slow run on a busy machine
does not move a result; the warm-up call keeps first-import and cold-cache cost out of it.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_seconds(action: Callable[[], object], runs: int) -> tuple[float, float, float]:
    """(median, fastest, slowest) wall time of ``runs`` calls, after one warm-up call."""
    action()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times), min(times), max(times)
