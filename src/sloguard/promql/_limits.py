"""Query limits as Prometheus enforces them: timeout, max samples, concurrency, resolution."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from sloguard.promql._value import ErrorType, PromQLError

Clock = Callable[[], float]

TOO_MANY_SAMPLES = "query processing would load too many samples into memory in query execution"
TIMED_OUT_EVAL = "query timed out in expression evaluation"
TIMED_OUT_QUEUE = "query timed out in query queue"
CANCELED_EVAL = "query was canceled in expression evaluation"
MAX_POINTS_MSG = (
    "exceeded maximum resolution of 11,000 points per timeseries. "
    "Try decreasing the query resolution (?step=XX)"
)


@dataclass(slots=True)
class QueryLimits:
    """Per-query budget: a deadline on an injected monotonic clock and a sample count.

    ``current`` approximates Prometheus' ``currentSamples``: samples held by the values
    evaluated so far and not yet released by their parent node.
    """

    clock: Clock
    deadline: float
    max_samples: int
    current: int = 0
    peak: int = field(default=0)
    #: Raw samples a select may load before its size alone refuses it (see ``check_load``).
    load_floor: int = 0
    #: Set by whoever gave up on the query (the HTTP side on timeout or disconnect);
    #: every check then stops the evaluation, so its arrays are freed.
    cancel: threading.Event = field(default_factory=threading.Event)

    def check_time(self) -> None:
        """Called between nodes, step chunks and inside long loops."""
        if self.cancel.is_set():
            raise PromQLError(CANCELED_EVAL, ErrorType.CANCELED)
        if self.clock() > self.deadline:
            raise PromQLError(TIMED_OUT_EVAL, ErrorType.TIMEOUT)

    def check_budget(self, n: int) -> None:
        """Refuse, before allocating, a value of ``n`` samples that cannot fit."""
        if self.current + n > self.max_samples:
            raise PromQLError(TOO_MANY_SAMPLES, ErrorType.EXECUTION)

    def check_load(self, n: int) -> None:
        """Refuse a select that would load ``n`` raw samples on top of ``current``.

        Prometheus counts a range function's input one series at a time (it streams), so
        its peak can be far below the samples a select returns; this evaluator holds the
        whole selected window as arrays (16 bytes a sample) instead. A select is refused
        only when its samples exceed both ``max_samples`` and ``load_floor``: below the
        floor (a few megabytes) the load is harmless and Prometheus' exact thresholds
        decide, above both it would hold more samples than the query may ever count, so
        it is refused with Prometheus' error before it allocates. ``n`` is the storage's
        estimate before the select (exact for windows covering whole series ranges, else
        assuming evenly spread samples) and the real count after it.
        """
        if not self.load_fits(n):
            raise PromQLError(TOO_MANY_SAMPLES, ErrorType.EXECUTION)

    def load_fits(self, n: int) -> bool:
        """Whether a select of ``n`` raw samples passes ``check_load``."""
        return self.current + n <= max(self.max_samples, self.load_floor)

    def acquire(self, n: int) -> None:
        self.current += n
        if self.current > self.max_samples:
            raise PromQLError(TOO_MANY_SAMPLES, ErrorType.EXECUTION)
        self.peak = max(self.peak, self.current)

    def release(self, n: int) -> None:
        self.current -= n

    def touch(self, extra: int) -> None:
        """Samples held for a moment on top of ``current`` (a node's working set)."""
        if self.current + extra > self.max_samples:
            raise PromQLError(TOO_MANY_SAMPLES, ErrorType.EXECUTION)
        self.peak = max(self.peak, self.current + extra)


#: The limits of the query evaluating in this thread, for loops deep in the evaluator
#: (per-series searches) that have no evaluation context at hand.
ACTIVE: contextvars.ContextVar[QueryLimits | None] = contextvars.ContextVar("sloguard_query_limits", default=None)


def check_active() -> None:
    """``check_time`` of the query evaluating in this thread, if any."""
    limits = ACTIVE.get()
    if limits is not None:
        limits.check_time()


class ConcurrencyGate:
    """At most ``limit`` queries evaluate at once; others wait until their deadline."""

    def __init__(self, limit: int) -> None:
        self._sem = threading.BoundedSemaphore(max(1, limit))

    def enter(self, timeout_s: float) -> None:
        if not self._sem.acquire(timeout=max(0.0, timeout_s)):
            raise PromQLError(TIMED_OUT_QUEUE, ErrorType.TIMEOUT)

    def leave(self) -> None:
        self._sem.release()


def check_resolution(start_ms: int, end_ms: int, step_ms: int, max_points: int) -> None:
    """Prometheus' API refuses range queries with more than 11,000 points per series."""
    if step_ms <= 0:
        raise PromQLError(
            "zero or negative query resolution step widths are not accepted. "
            "Try a positive integer", ErrorType.BAD_DATA,
        )
    if end_ms < start_ms:
        raise PromQLError("end timestamp must not be before start time", ErrorType.BAD_DATA)
    # Prometheus compares (end - start) / step, so 11,001 points still pass.
    if (end_ms - start_ms) // step_ms > max_points:
        raise PromQLError(MAX_POINTS_MSG.replace("11,000", f"{max_points:,}"), ErrorType.BAD_DATA)
