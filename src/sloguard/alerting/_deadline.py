"""Running an awaitable until a time on the injected clock, cheaply.

On the system clock a coarse deadline bounds the call (``_coarse``: no second task, no
``asyncio.wait``, no timer of its own; it fires at most ``TICK_S`` late), which matters
when thousands of flushes run at once.
Any other clock (a :class:`~sloguard.clock.ManualClock` in tests) races the call, as a
task, against ``clock.sleep_until``, so simulated time decides as before.

A group's sleep until its next flush (:func:`sleeper`) shares one loop timer with the other
sleepers due in the same millisecond; a cancelled sleeper leaves that timer in place (it
finds the sleeper done when it fires), so stopping many groups leaves one timer per
millisecond, not one per group.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable
from typing import TypeVar

from sloguard.alerting._coarse import register
from sloguard.clock import Clock, SystemClock

__all__ = ["TimedOut", "sleeper", "slept", "until", "wake"]

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


def sleeper(clock: Clock, until_ms: int) -> asyncio.Future[None]:
    """A future that is done when ``clock`` reaches ``until_ms``; cancel it to stop waiting.
    On the system clock it is a plain future that one loop timer per millisecond sets
    (no task, no timer each: the groups of one batch of alerts flush, and then sleep until,
    the same millisecond); on another clock a task sleeping on it."""
    if type(clock) is not SystemClock:
        return asyncio.ensure_future(clock.sleep_until(until_ms))
    loop = asyncio.get_running_loop()
    wakeups = _WAKEUPS.get(loop)
    if wakeups is None:
        wakeups = _WAKEUPS[loop] = _Wakeups(loop)
    return wakeups.add(until_ms, max((until_ms - clock.now_ms()) / 1000, 0.0))


class _Wakeups:
    """The sleepers of one event loop by the millisecond they wake at, one timer each."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._due: dict[int, list[asyncio.Future[None]]] = {}

    def add(self, until_ms: int, delay_s: float) -> asyncio.Future[None]:
        fut: asyncio.Future[None] = self._loop.create_future()
        due = self._due.get(until_ms)
        if due is None:
            due = self._due[until_ms] = []
            self._loop.call_later(delay_s, self._fire, until_ms)
        due.append(fut)
        return fut

    def _fire(self, until_ms: int) -> None:
        for fut in self._due.pop(until_ms, ()):
            _wake(fut)  # a sleeper cancelled or woken early is done already: skipped


_WAKEUPS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Wakeups] = weakref.WeakKeyDictionary()


def wake(sleep: asyncio.Future[None]) -> None:
    """End a :func:`sleeper`'s wait early (awaiting it then returns; a task is cancelled)."""
    if isinstance(sleep, asyncio.Task):
        sleep.cancel()
    else:
        _wake(sleep)


def slept(sleep: asyncio.Future[None]) -> Awaitable[object]:
    """What to await for a :func:`sleeper` until it is due or woken, without raising when it
    is woken: a plain future itself (no coroutine around it), a task through
    ``asyncio.wait`` (woken = cancelled: ``wait`` does not raise)."""
    if isinstance(sleep, asyncio.Task):
        return asyncio.wait((sleep,))
    return sleep


def _wake(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


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
