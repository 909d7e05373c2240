"""Upstream connection pools for the built-in proxy: one keep-alive pool per upstream
address, one ``Pool`` (round robin over its addresses) per version, with an in-flight
count so a removed version can be drained."""

from __future__ import annotations

import asyncio
from collections import deque

Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class Upstream:
    """Keep-alive connections to one ``host:port``; at most ``max_idle`` are kept idle."""

    __slots__ = ("address", "host", "port", "_idle", "_max_idle", "_limit")

    def __init__(self, address: str, max_idle: int, limit: int) -> None:
        self.address = address
        host, _, port = address.rpartition(":")
        self.host, self.port = host.strip("[]"), int(port)
        self._idle: deque[Conn] = deque()
        self._max_idle = max_idle
        self._limit = limit

    def idle(self) -> Conn | None:
        """A pooled connection that still looks open, or None."""
        while self._idle:
            reader, writer = self._idle.pop()
            if not reader.at_eof() and not writer.is_closing():
                return reader, writer
            writer.close()
        return None

    async def connect(self, timeout_s: float) -> Conn:
        try:
            async with asyncio.timeout(timeout_s):
                return await asyncio.open_connection(self.host, self.port, limit=self._limit)
        except TimeoutError:
            raise ConnectionError(f"connecting to {self.address} took over {timeout_s} s") from None

    def release(self, conn: Conn, reusable: bool) -> None:
        if reusable and len(self._idle) < self._max_idle and not conn[1].is_closing():
            self._idle.append(conn)
        else:
            conn[1].close()

    def close_idle(self) -> None:
        while self._idle:
            self._idle.pop()[1].close()


class Pool:
    """One version's upstreams. ``in_flight`` counts requests being served by it."""

    __slots__ = ("name", "upstreams", "in_flight", "retired", "_next", "_drained")

    def __init__(self, name: str, addresses: tuple[str, ...], max_idle: int, limit: int) -> None:
        self.name = name
        self.upstreams = tuple(Upstream(a, max_idle, limit) for a in addresses)
        self.in_flight = 0
        self.retired = False
        self._next = 0
        self._drained: asyncio.Event | None = None

    def order(self) -> list[Upstream]:
        """Every upstream once, starting with the next one in round-robin order."""
        n = len(self.upstreams)
        i = self._next % n if n else 0
        self._next = i + 1
        return [*self.upstreams[i:], *self.upstreams[:i]]

    def begin(self) -> None:
        self.in_flight += 1

    def end(self) -> None:
        self.in_flight -= 1
        if self.in_flight == 0:
            if self._drained is not None:
                self._drained.set()
            if self.retired:
                self.close_idle()

    def release(self, upstream: Upstream, conn: Conn, reusable: bool) -> None:
        upstream.release(conn, reusable and not self.retired)

    def retire(self) -> None:
        """No new requests will come; idle connections close once in-flight ones end."""
        self.retired = True
        if self.in_flight == 0:
            self.close_idle()

    async def wait_drained(self, timeout_s: float) -> bool:
        """Whether every in-flight request ended within ``timeout_s``."""
        if self.in_flight == 0:
            return True
        if self._drained is None or self._drained.is_set():
            self._drained = asyncio.Event()
        try:
            async with asyncio.timeout(timeout_s):
                await self._drained.wait()
        except TimeoutError:
            return False
        return True

    def close_idle(self) -> None:
        for u in self.upstreams:
            u.close_idle()
