"""Bounding a wait by a time on the injected clock, cheaply.

``with within(clock, until_ms): result = await call`` cancels the awaits of the block when
``clock`` reaches ``until_ms`` and then raises :class:`TimedOut` from it. It is a plain
context manager, not a coroutine: no level of its own to resume through at every wait,
which matters when thousands of flushes wait at once.

On the system clock the deadline is a coarse tick (``_coarse``: no task, no timer of its
own; it fires at most ``TICK_S`` late). Any other clock (a
:class:`~sloguard.clock.ManualClock` in tests) gets a wakeup on that clock, so simulated
time decides.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from types import TracebackType
from typing import Protocol, TypeVar

from sloguard.alerting._coarse import register
from sloguard.alerting._wakeup import Wakeup, call_at
from sloguard.clock import Clock, SystemClock

__all__ = ["TimedOut", "until", "within"]

T = TypeVar("T")


class TimedOut(Exception):
    """The clock reached the deadline before the call finished (the call was cancelled)."""


class _Expiry(Protocol):
    """What :class:`within` needs of a deadline: a coarse tick's, or :class:`_OnClock`."""

    expired: bool
    cancelling: int

    def drop(self) -> None: ...


class _OnClock:
    """A deadline on a clock other than the system's: a wakeup that cancels the task."""

    __slots__ = ("_wakeup", "cancelling", "expired", "task")

    def __init__(self, task: asyncio.Task[object], clock: Clock, until_ms: int) -> None:
        self.task = task
        self.cancelling = task.cancelling()
        self.expired = False
        self._wakeup: Wakeup = call_at(clock, until_ms, self._fire)

    def _fire(self) -> None:
        self.expired = True
        self.task.cancel()

    def drop(self) -> None:
        self._wakeup.cancel()


class within:  # noqa: N801 - used like a function: ``with within(clock, until_ms):``
    """The deadline of the block (see the module). Only the deadline's own cancel becomes
    :class:`TimedOut`; a cancel from elsewhere goes on as ``CancelledError``."""

    __slots__ = ("_deadline", "_task")

    def __init__(self, clock: Clock, until_ms: int) -> None:
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("within() needs a running task")
        self._task = task
        if type(clock) is SystemClock:
            self._deadline: _Expiry = register(task, (until_ms - clock.now_ms()) / 1000)
        else:
            self._deadline = _OnClock(task, clock, until_ms)

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None,
                 tb: TracebackType | None) -> None:
        deadline = self._deadline
        deadline.drop()
        if not deadline.expired:
            return
        deadline.expired = False
        if self._task.uncancel() <= deadline.cancelling and kind is asyncio.CancelledError:
            raise TimedOut from None
        # Else it fired as the block ended, or someone else cancelled too: their cancel goes on.


async def until(call: Awaitable[T], clock: Clock, until_ms: int) -> T:
    """The call's result (its exception raised as is); :class:`TimedOut` when ``clock``
    reached ``until_ms`` first, after the call was cancelled."""
    with within(clock, until_ms):
        return await call
