"""Garbage-collector thresholds for the long-running server.

A server holds many live objects (series, aggregation groups with their tasks, pending
futures of thousands of concurrent notifications) and allocates many short-lived ones.
With CPython's default thresholds (700, 10, 10) the collector runs every 700 net
allocations and traverses the survivors again and again: half the CPU of a flush of
10,000 alert groups went to it (bench/RESULTS.md, alerting). Larger thresholds keep the
same collector (cycles are still freed) and run it far less often.
"""

from __future__ import annotations

import gc

__all__ = ["SERVER_GC_THRESHOLDS", "tune_for_server"]

#: Generation 0 collects every 50,000 net allocations, generation 1 every 20 of those,
#: a full collection after 100 of those (and only when the heap grew by a quarter).
SERVER_GC_THRESHOLDS = (50_000, 20, 100)


def tune_for_server() -> None:
    """Set :data:`SERVER_GC_THRESHOLDS` for this process (``sloguard serve`` calls it)."""
    gc.set_threshold(*SERVER_GC_THRESHOLDS)
