"""A bounded load generator on loopback: a fixed rate of GET requests, at most
``max_in_flight`` of them at once (a request due while the bound is reached is skipped
and counted, never queued), over keep-alive connections, until ``stop()``.

The target's port is asked for at each new connection (``target()``), so the generator
follows a proxy that moves; while it answers None, due requests are counted as skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

from sloguard.demo.service import DemoError

__all__ = ["LoadConfig", "LoadGenerator", "LoadStats"]

Target = Callable[[], int | None]
"""The port to send requests to now (None: not ready yet)."""

_Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@dataclass(frozen=True, slots=True)
class LoadConfig:
    """``rps`` requests per second to ``host``'s port ``path``; at most ``max_in_flight``
    at once; a request with no answer within ``timeout_s`` counts as failed."""

    rps: float = 150.0
    max_in_flight: int = 32
    path: str = "/api/checkout"
    host: str = "127.0.0.1"
    timeout_s: float = 5.0

    def __post_init__(self) -> None:
        if not 0 < self.rps <= 10_000:
            raise DemoError(f"The load generator's rps must be in (0, 10000], got {self.rps!r}.")
        if not 1 <= self.max_in_flight <= 1024:
            raise DemoError(f"The load generator's max_in_flight must be 1 to 1024, got {self.max_in_flight!r}.")


@dataclass(slots=True)
class LoadStats:
    """Requests sent and how they ended; ``versions`` counts answers by ``X-Demo-Version``."""

    sent: int = 0
    ok: int = 0
    errors: int = 0
    failed: int = 0
    skipped: int = 0
    versions: dict[str, int] = field(default_factory=dict)


class LoadGenerator:
    """See the module doc. ``start()`` begins sending; ``await stop()`` ends it cleanly."""

    def __init__(self, target: Target | int, config: LoadConfig = LoadConfig()) -> None:
        self._target: Target = (lambda: target) if isinstance(target, int) else target
        self.config = config
        self.stats = LoadStats()
        self._pacer: asyncio.Task[None] | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        self._idle: list[tuple[int, _Conn]] = []

    @property
    def in_flight(self) -> int:
        return len(self._inflight)

    def start(self) -> None:
        if self._pacer is None:
            self._pacer = asyncio.get_running_loop().create_task(self._pace(), name="demo-load")

    async def stop(self) -> None:
        """Stop sending, let in-flight requests end (up to their timeout), close connections."""
        if self._pacer is not None:
            self._pacer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pacer
            self._pacer = None
        if self._inflight:
            await asyncio.wait(list(self._inflight), timeout=self.config.timeout_s + 1)
        for task in list(self._inflight):
            task.cancel()
        while self._idle:
            self._idle.pop()[1][1].close()

    async def _pace(self) -> None:
        loop = asyncio.get_running_loop()
        start, i = loop.time(), 0
        while True:
            i += 1
            delay = start + i / self.config.rps - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -1.0:  # the loop stalled: start again rather than burst
                start, i = loop.time(), 0
            self._fire()

    def _fire(self) -> None:
        port = self._target()
        if port is None or len(self._inflight) >= self.config.max_in_flight:
            self.stats.skipped += 1
            return
        self.stats.sent += 1
        task = asyncio.get_running_loop().create_task(self._request(port))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)

    async def _request(self, port: int) -> None:
        conn: _Conn | None = None
        try:
            conn = self._take(port) or await asyncio.open_connection(self.config.host, port)
            status, version, keep = await asyncio.wait_for(self._exchange(conn), self.config.timeout_s)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            self.stats.failed += 1
            if conn is not None:
                conn[1].close()
            return
        self._count(status, version)
        if keep:
            self._idle.append((port, conn))
        else:
            conn[1].close()

    def _take(self, port: int) -> _Conn | None:
        while self._idle:
            p, conn = self._idle.pop()
            if p == port and not conn[1].is_closing():
                return conn
            conn[1].close()
        return None

    async def _exchange(self, conn: _Conn) -> tuple[int, str, bool]:
        reader, writer = conn
        c = self.config
        writer.write(f"GET {c.path} HTTP/1.1\r\nHost: {c.host}\r\nUser-Agent: sloguard-demo\r\n\r\n".encode())
        await writer.drain()
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:] if h)}
        await reader.readexactly(int(headers.get("content-length", "0")))
        return status, headers.get("x-demo-version", ""), headers.get("connection", "").lower() != "close"

    def _count(self, status: int, version: str) -> None:
        if status >= 500:
            self.stats.errors += 1
        else:
            self.stats.ok += 1
        if version:
            self.stats.versions[version] = self.stats.versions.get(version, 0) + 1
