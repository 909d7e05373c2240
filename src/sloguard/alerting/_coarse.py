"""Deadlines for many concurrent calls without a loop timer each.

``asyncio.timeout`` makes a timer handle per call (a push into the loop's heap, compared
in Python, and a cancelled handle left behind): about 10 µs a call with ten thousand
flushes in flight, twice per notification. Here deadlines are rounded up to the next
``TICK_S`` and share one loop timer per tick: a call registers in its tick's bucket (a
dict insertion) and leaves it when it ends. When the tick's timer fires, the calls still
in it are cancelled, at most ``TICK_S`` after their deadline, never before it.
"""

from __future__ import annotations

import asyncio
import math
import weakref

__all__ = ["TICK_S", "Deadline", "register"]

TICK_S = 0.005
"""How late a deadline may fire at most (besides the loop's own lateness)."""


class Deadline:
    """One call's deadline: ``expired`` once its tick fired while the call was running
    (``task`` was then cancelled; ``cancelling`` is what ``task.cancelling()`` was before)."""

    __slots__ = ("_bucket", "cancelling", "expired", "task")

    def __init__(self, task: asyncio.Task[object], bucket: dict[Deadline, None]) -> None:
        self.task = task
        self.cancelling = task.cancelling()
        self.expired = False
        self._bucket = bucket
        bucket[self] = None

    def drop(self) -> None:
        """The call ended: its tick will not cancel it."""
        self._bucket.pop(self, None)


class _Ticks:
    """The buckets of one event loop, by tick number."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._buckets: dict[int, dict[Deadline, None]] = {}

    def add(self, task: asyncio.Task[object], when: float) -> Deadline:
        tick = math.ceil(when / TICK_S)
        bucket = self._buckets.get(tick)
        if bucket is None:
            bucket = self._buckets[tick] = {}
            self._loop.call_at(tick * TICK_S, self._fire, tick)
        return Deadline(task, bucket)

    def _fire(self, tick: int) -> None:
        for deadline in self._buckets.pop(tick, {}):
            deadline.expired = True
            deadline.task.cancel()


_TICKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Ticks] = weakref.WeakKeyDictionary()


def register(task: asyncio.Task[object], delay_s: float) -> Deadline:
    """Cancel ``task`` when ``delay_s`` has passed on its loop, unless :meth:`Deadline.drop`
    comes first."""
    loop = task.get_loop()
    ticks = _TICKS.get(loop)
    if ticks is None:
        ticks = _TICKS[loop] = _Ticks(loop)
    return ticks.add(task, loop.time() + max(delay_s, 0.0))
