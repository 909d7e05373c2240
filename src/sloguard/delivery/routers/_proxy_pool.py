"""Upstream connection pools for the built-in proxy: one keep-alive pool of ``UpstreamConn``
protocols per upstream address, one ``Pool`` (round robin over its addresses) per
version, with an in-flight count so a removed version can be drained."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Protocol


class ConnUser(Protocol):
    """The exchange a connection serves now: gets its bytes, its loss, its timeout."""

    def on_data(self, data: bytes) -> None: ...

    def on_lost(self, exc: Exception | None) -> None: ...

    def on_timeout(self) -> None: ...


class UpstreamConn(asyncio.Protocol):
    """One keep-alive connection to an upstream, serving one exchange (``user``) at a time.

    The wait for a response head is bounded by one timer per connection, re-armed lazily
    when it fires early: a request only stamps its deadline, so the hot path adds no timer.
    """

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.user: ConnUser | None = None
        self.closed = False
        self.waiting = False
        self.deadline = 0.0
        self._loop = asyncio.get_running_loop()
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a TCP connection: a Transport

    def data_received(self, data: bytes) -> None:
        user = self.user
        if user is None:
            self.abort()  # bytes nobody asked for: this connection is out of step
        else:
            user.on_data(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
        user, self.user = self.user, None
        if user is not None:
            user.on_lost(exc)

    def send(self, user: ConnUser, data: bytes, timeout_s: float) -> None:
        """Send a request for ``user``; its response head is due within ``timeout_s``."""
        assert self.transport is not None  # connected: the pool hands out connected ones only
        self.user, self.waiting = user, True
        self.deadline = self._loop.time() + timeout_s
        if self._timer is None:
            self._timer = self._loop.call_at(self.deadline, self._check)
        self.transport.write(data)

    def _check(self) -> None:
        self._timer = None
        user = self.user
        if not self.waiting or user is None:
            return
        if self._loop.time() < self.deadline:
            self._timer = self._loop.call_at(self.deadline, self._check)
            return
        self.abort()
        user.on_timeout()

    def done(self) -> None:
        """The exchange is over (the connection may go back to the pool)."""
        self.user, self.waiting = None, False
        if self.transport is not None and not self.closed and not self.transport.is_reading():
            self.transport.resume_reading()

    def abort(self) -> None:
        self.closed, self.user, self.waiting = True, None, False
        if self.transport is not None:
            self.transport.abort()

    def close(self) -> None:
        self.closed, self.user = True, None
        if self.transport is not None:
            self.transport.close()


class Upstream:
    """Keep-alive connections to one ``host:port``; at most ``max_idle`` are kept idle."""

    __slots__ = ("address", "host", "port", "_idle", "_max_idle")

    def __init__(self, address: str, max_idle: int) -> None:
        self.address = address
        host, _, port = address.rpartition(":")
        self.host, self.port = host.strip("[]"), int(port)
        self._idle: deque[UpstreamConn] = deque()
        self._max_idle = max_idle

    def idle(self) -> UpstreamConn | None:
        """A pooled connection that still looks open, or None."""
        while self._idle:
            conn = self._idle.pop()
            if not conn.closed and conn.transport is not None and not conn.transport.is_closing():
                return conn
            conn.close()
        return None

    async def connect(self, timeout_s: float) -> UpstreamConn:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout_s):
                _, conn = await loop.create_connection(UpstreamConn, self.host, self.port)
        except TimeoutError:
            raise ConnectionError(f"connecting to {self.address} took over {timeout_s} s") from None
        return conn

    def release(self, conn: UpstreamConn, reusable: bool) -> None:
        if reusable and len(self._idle) < self._max_idle and not conn.closed:
            conn.done()
            self._idle.append(conn)
        else:
            conn.close()

    def close_idle(self) -> None:
        while self._idle:
            self._idle.pop().close()


class Pool:
    """One version's upstreams. ``in_flight`` counts requests being served by it."""

    __slots__ = ("name", "upstreams", "in_flight", "retired", "_next", "_drained")

    def __init__(self, name: str, addresses: tuple[str, ...], max_idle: int) -> None:
        self.name = name
        self.upstreams = tuple(Upstream(a, max_idle) for a in addresses)
        self.in_flight = 0
        self.retired = False
        self._next = 0
        self._drained: asyncio.Event | None = None

    def order(self) -> tuple[Upstream, ...]:
        """Every upstream once, starting with the next one in round-robin order."""
        n = len(self.upstreams)
        if n <= 1:
            return self.upstreams
        i = self._next % n
        self._next = i + 1
        return self.upstreams[i:] + self.upstreams[:i]

    def begin(self) -> None:
        self.in_flight += 1

    def end(self) -> None:
        self.in_flight -= 1
        if self.in_flight == 0:
            if self._drained is not None:
                self._drained.set()
            if self.retired:
                self.close_idle()

    def release(self, upstream: Upstream, conn: UpstreamConn, reusable: bool) -> None:
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
