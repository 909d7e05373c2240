"""Injected time for every loop (rule evaluation, the alerting dispatcher, rollouts): the
system clock, or a manual one for tests."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> int: ...

    async def sleep_until(self, t_ms: int) -> None: ...


class SystemClock:
    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    async def sleep_until(self, t_ms: int) -> None:
        delay = (t_ms - self.now_ms()) / 1000
        if delay > 0:
            await asyncio.sleep(delay)


class ManualClock:
    """Time moves only when a test calls :meth:`advance_to`; sleepers wake in time order,
    each running until it sleeps again before the next one is woken."""

    def __init__(self, start_ms: int = 0) -> None:
        self._now = start_ms
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def now_ms(self) -> int:
        return self._now

    async def sleep_until(self, t_ms: int) -> None:
        if t_ms <= self._now:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (t_ms, next(self._seq), fut))
        await fut

    @property
    def sleepers(self) -> int:
        return sum(1 for *_, f in self._waiters if not f.done())

    async def settle(self, rounds: int = 200) -> None:
        """Let woken tasks run until they are all sleeping again (bounded)."""
        for _ in range(rounds):
            await asyncio.sleep(0)

    async def advance_to(self, t_ms: int) -> None:
        await self.settle()
        while self._waiters and self._waiters[0][0] <= t_ms:
            when, _, fut = heapq.heappop(self._waiters)
            self._now = max(self._now, when)
            if not fut.done():
                fut.set_result(None)
                await self.settle()
        self._now = max(self._now, t_ms)
        await self.settle()

    async def advance(self, ms: int) -> None:
        await self.advance_to(self._now + ms)
