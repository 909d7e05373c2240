"""Test helpers for code that runs ingest loops: a fake clock that never really sleeps."""

from __future__ import annotations

import asyncio
import heapq
import itertools

__all__ = ["FakeClock"]


class FakeClock:
    """Simulated wall time. ``sleep`` parks the caller until ``advance`` moves time past it.

    ``advance(seconds)`` wakes sleepers in deadline order, setting ``now()`` to each
    deadline before waking it, and lets the woken tasks run (a bounded number of event
    loop turns, enough for work that does no real I/O, e.g. ``httpx.MockTransport``).
    """

    def __init__(self, start: float = 1_700_000_000.0, settle_turns: int = 50) -> None:
        self._t = start
        self._timers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._settle_turns = settle_turns

    def now(self) -> float:
        return self._t

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._timers, (self._t + seconds, next(self._seq), fut))
        await fut

    @property
    def sleepers(self) -> int:
        """How many callers are parked in ``sleep``."""
        return sum(1 for _, _, f in self._timers if not f.done())

    async def settle(self) -> None:
        """Let runnable tasks run until they block again (bounded)."""
        for _ in range(self._settle_turns):
            await asyncio.sleep(0)

    async def advance(self, seconds: float) -> None:
        target = self._t + seconds
        await self.settle()
        while self._timers and self._timers[0][0] <= target:
            deadline, _, fut = heapq.heappop(self._timers)
            if fut.done():
                continue
            self._t = max(self._t, deadline)
            fut.set_result(None)
            await self.settle()
        self._t = target
        await self.settle()
