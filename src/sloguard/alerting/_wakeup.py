"""Calling back at a time on the injected clock, cheaply: how an aggregation group waits
for its next flush.

A group sleeps for most of its life (``group_interval`` between flushes), so it does not
keep a task, a future and a loop timer for that time: on the system clock its callback
waits in a bucket of the millisecond it is due, and one loop timer per millisecond calls
the bucket (the groups of one batch of alerts flush, and then wait until, the same
millisecond). Cancelling takes the callback out of its bucket. Any other clock (a
:class:`~sloguard.clock.ManualClock` in tests) gets a task sleeping on
``clock.sleep_until``, so simulated time decides.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Protocol

from sloguard.clock import Clock, SystemClock

__all__ = ["Wakeup", "call_at"]

Callback = Callable[[], None]


class Wakeup(Protocol):
    """A pending call; :meth:`cancel` keeps it from happening (after it happened: no-op)."""

    def cancel(self) -> object: ...


def call_at(clock: Clock, until_ms: int, callback: Callback) -> Wakeup:
    """Call ``callback`` on the running loop once ``clock`` reached ``until_ms`` (never before)."""
    if type(clock) is not SystemClock:
        return asyncio.ensure_future(_sleep_then(clock, until_ms, callback))
    loop = asyncio.get_running_loop()
    buckets = _BUCKETS.get(loop)
    if buckets is None:
        buckets = _BUCKETS[loop] = _Buckets(loop)
    return buckets.add(until_ms, max((until_ms - clock.now_ms()) / 1000, 0.0), callback)


async def _sleep_then(clock: Clock, until_ms: int, callback: Callback) -> None:
    await clock.sleep_until(until_ms)
    callback()


class _Pending:
    """A callback waiting in its millisecond's bucket."""

    __slots__ = ("_bucket", "callback")

    def __init__(self, bucket: dict[_Pending, None], callback: Callback) -> None:
        self._bucket = bucket
        self.callback: Callback | None = callback
        bucket[self] = None

    def cancel(self) -> None:
        self._bucket.pop(self, None)
        self.callback = None


class _Buckets:
    """The pending callbacks of one event loop by the millisecond they are due, one loop
    timer per millisecond."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._due: dict[int, dict[_Pending, None]] = {}

    def add(self, until_ms: int, delay_s: float, callback: Callback) -> _Pending:
        bucket = self._due.get(until_ms)
        if bucket is None:
            bucket = self._due[until_ms] = {}
            self._loop.call_later(delay_s, self._fire, until_ms)
        return _Pending(bucket, callback)

    def _fire(self, until_ms: int) -> None:
        for pending in list(self._due.pop(until_ms, {})):  # in the order they were added
            callback = pending.callback
            if callback is not None:  # not cancelled by a callback called before it
                pending.callback = None
                callback()


_BUCKETS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Buckets] = weakref.WeakKeyDictionary()
