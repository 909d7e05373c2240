"""Running an awaitable until a time on the injected clock, cheaply.

On the system clock a coarse deadline bounds the call (``_coarse``: no second task, no
``asyncio.wait``, no timer of its own; it fires at most ``TICK_S`` late), which matters
when thousands of flushes run at once.
Any other clock (a :class:`~sloguard.clock.ManualClock` in tests) races the call, as a
task, against ``clock.sleep_until``, so simulated time decides as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from sloguard.alerting._coarse import register
from sloguard.clock import Clock, SystemClock

__all__ = ["TimedOut", "until"]

T = TypeVar("T")


class TimedOut(Exception):
    """The clock reached the deadline before the call finished (the call was cancelled)."""


async def until(call: Awaitable[T], clock: Clock, until_ms: int) -> T:
    """The call's result (its exception raised as is); :class:`TimedOut` when ``clock``
    reached ``until_ms`` first, after the call was cancelled."""
    task = asyncio.current_task()
    if type(clock) is not SystemClock or task is None:
        return await _raced(call, clock, until_ms)
    # Inline, not a helper coroutine: one level less to resume through at every wait.
    deadline = register(task, (until_ms - clock.now_ms()) / 1000)
    try:
        return await call
    except asyncio.CancelledError:
        if deadline.expired:
            deadline.expired = False
            if task.uncancel() <= deadline.cancelling:  # the deadline's cancel, nobody else's
                raise TimedOut from None
        raise
    finally:
        deadline.drop()
        if deadline.expired:  # it fired, but the call ended before the cancel reached it
            task.uncancel()


async def _raced(call: Awaitable[T], clock: Clock, until_ms: int) -> T:
    task = asyncio.ensure_future(call)
    timer = asyncio.ensure_future(clock.sleep_until(until_ms))
    try:
        await asyncio.wait((task, timer), return_when=asyncio.FIRST_COMPLETED)
    finally:
        timer.cancel()
        if not task.done():
            await _cancelled(task)
    if task.cancelled():
        raise TimedOut
    return task.result()


async def _cancelled(task: asyncio.Future[T]) -> None:
    """Cancel ``task`` and wait until it has ended."""
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise
    except Exception:  # noqa: BLE001,S110 - the caller reports the deadline, not this
        pass
