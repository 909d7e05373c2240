"""A lean HTTP/1.1 client on asyncio Protocols, for many small POSTs to few hosts.

:class:`H1Client` keeps a keep-alive pool per ``(scheme, host, port)`` (at most
``max_per_host`` connections, the rest of the requests wait in order) and sends each
request as one write; the response is parsed from ``data_received`` with ``bytes.find``
(Content-Length, chunked, or read to the close) and handed to the waiting request. No
redirects, proxies, cookies or decompression: the caller falls back to a full client for
what this one leaves out (:attr:`H1Response.redirect`). TLS uses the given context.

Timeouts: connecting is bounded by ``timeout_s``, and so is waiting for a free connection
(one timer per host, armed for the earliest waiter); the response by one timer per
connection that is re-armed lazily (a request only stamps its deadline, so the hot path
adds no timer). Failures are raised as ``httpx`` transport
errors (``ConnectError``, ``ConnectTimeout``, ``PoolTimeout``, ``ReadTimeout``,
``ReadError``, ``RemoteProtocolError``), as the other clients of this package raise them.
A request cancelled mid-way closes its connection (it is never reused out of step).
"""

from __future__ import annotations

import asyncio
import functools
import ssl
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from sloguard.httpclient._h1parse import ResponseParser

__all__ = ["H1Client", "H1Response"]

MAX_PER_HOST = 100
"""Connections per host at most (aiohttp's default limit, which the shared client had)."""
KEEPALIVE_S = 5.0
"""How long an idle connection is kept for reuse (httpx's default keep-alive expiry)."""
REDIRECTS = frozenset((301, 302, 303, 307, 308))


@dataclass(frozen=True, slots=True)
class H1Response:
    """A complete response: status, headers (names lower-case; a repeated header keeps the
    last value) and body (chunked framing removed)."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def redirect(self) -> bool:
        """A redirect with a ``Location`` (this client does not follow it)."""
        return self.status in REDIRECTS and "location" in self.headers


@dataclass(frozen=True, slots=True)
class _Target:
    key: tuple[str, str, int]
    host: str
    port: int
    tls: bool
    head: bytes  # request line and Host header


@functools.lru_cache(maxsize=256)
def _target(url: str) -> _Target:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise httpx.UnsupportedProtocol(f"the URL scheme {parts.scheme!r} is not http or https, or it has no host")
    tls = parts.scheme == "https"
    port = parts.port or (443 if tls else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host = parts.hostname
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None and parts.port != (443 if tls else 80):
        netloc += f":{parts.port}"
    head = f"POST {path} HTTP/1.1\r\nHost: {netloc}\r\n".encode("ascii", "strict")
    return _Target((parts.scheme, host, port), host, port, tls, head)


@functools.lru_cache(maxsize=256)
def _header_lines(headers: tuple[tuple[str, str], ...]) -> bytes:
    return "".join(f"{k}: {v}\r\n" for k, v in headers).encode("latin-1")


class _Conn(asyncio.Protocol):
    """One keep-alive connection serving one request at a time."""

    __slots__ = ("_loop", "_timer", "closed", "deadline", "idle_since", "parser", "reused", "transport", "waiter")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._timer: asyncio.TimerHandle | None = None
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[H1Response] | None = None
        self.parser: ResponseParser | None = None
        self.closed = False
        self.reused = False
        self.deadline = 0.0
        self.idle_since = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a TCP (or TLS) connection

    def send(self, data: bytes, timeout_s: float) -> asyncio.Future[H1Response]:
        assert self.transport is not None  # the pool hands out connected ones only
        self.waiter = self._loop.create_future()
        self.parser = ResponseParser()
        self.deadline = self._loop.time() + timeout_s
        if self._timer is None:
            self._timer = self._loop.call_at(self.deadline, self._check)
        self.transport.write(data)
        return self.waiter

    def data_received(self, data: bytes) -> None:
        parser, waiter = self.parser, self.waiter
        if parser is None or waiter is None:
            self.abort()  # bytes nobody asked for: out of step
            return
        try:
            done = parser.feed(data)
        except ValueError as e:
            self.abort()
            self._fail(httpx.RemoteProtocolError(f"malformed HTTP response: {e}"))
            return
        if done:
            self._finish(parser)

    def eof_received(self) -> bool | None:
        parser = self.parser
        if parser is not None and parser.until_close:
            parser.close()
            self._finish(parser)
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        parser = self.parser
        if parser is not None and parser.until_close and self.waiter is not None and not self.waiter.done():
            parser.close()
            self._finish(parser)
            return
        if parser is not None and not parser.started:
            self._fail(httpx.RemoteProtocolError("the server closed the connection without sending a response"))
        else:
            self._fail(httpx.ReadError("the connection was lost while the response was read"))

    def _finish(self, parser: ResponseParser) -> None:
        waiter, self.waiter, self.parser = self.waiter, None, None
        if parser.must_close:
            self.close()
        if waiter is not None and not waiter.done():
            waiter.set_result(H1Response(parser.status, parser.headers, parser.body()))

    def _fail(self, exc: Exception) -> None:
        waiter, self.waiter, self.parser = self.waiter, None, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    def _check(self) -> None:
        self._timer = None
        if self.waiter is None:
            return
        if self._loop.time() < self.deadline:
            self._timer = self._loop.call_at(self.deadline, self._check)
            return
        self.abort()
        self._fail(httpx.ReadTimeout("no complete response within the timeout"))

    @property
    def usable(self) -> bool:
        return not self.closed and self.transport is not None and not self.transport.is_closing()

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class _Host:
    """The connections to one host: idle ones (most recent last), how many are open (idle,
    busy or connecting), and the requests waiting for one, first come first served."""

    __slots__ = ("idle", "open", "timer", "waiters")

    def __init__(self) -> None:
        self.idle: deque[_Conn] = deque()
        self.open = 0
        #: Each waiter gets a connection, or None: a free slot to open one in; with its
        #: deadline and timeout. One timer (``timer``) expires them, armed for the earliest.
        self.waiters: deque[tuple[asyncio.Future[_Conn | None], float, float]] = deque()
        self.timer: asyncio.TimerHandle | None = None


class H1Client:
    """Keep-alive HTTP/1.1 POSTs (see the module). ``ssl_context`` verifies ``https`` hosts."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None, max_per_host: int = MAX_PER_HOST,
                 keepalive_s: float = KEEPALIVE_S) -> None:
        self._ssl = ssl_context
        self._max = max_per_host
        self._keepalive_s = keepalive_s
        self._hosts: dict[tuple[str, str, int], _Host] = {}

    async def post(self, url: str, body: bytes, headers: Mapping[str, str], timeout_s: float) -> H1Response:
        """POST ``body`` to ``url`` with ``headers`` (Host and Content-Length are added)."""
        target = _target(url)
        data = b"%s%sContent-Length: %d\r\n\r\n%s" % (target.head, _header_lines(tuple(headers.items())),
                                                        len(body), body)
        host = self._hosts.get(target.key)
        if host is None:
            host = self._hosts[target.key] = _Host()
        for fresh in (False, True):
            # An idle connection is taken without a coroutine of its own (the common case).
            conn = (None if fresh else self._idle(host)) or await self._acquire(host, target, timeout_s, fresh)
            try:
                response = await conn.send(data, timeout_s)
            except BaseException as e:
                conn.abort()
                self._give(host, None)
                # A kept-alive connection the server had closed (no answer at all): once more, fresh.
                if isinstance(e, httpx.RemoteProtocolError) and conn.reused and not fresh:
                    continue
                raise
            if conn.usable:
                conn.reused = True
                self._give(host, conn)
            else:
                self._give(host, None)
            return response
        raise AssertionError("unreachable: the second try returns or raises")

    def _idle(self, host: _Host) -> _Conn | None:
        """The most recently used idle connection still usable (the stale ones are closed)."""
        if not host.idle:
            return None
        now = asyncio.get_running_loop().time()
        while host.idle:
            conn = host.idle.pop()
            if conn.usable and now - conn.idle_since < self._keepalive_s:
                return conn
            conn.close()
            host.open -= 1
        return None

    async def _acquire(self, host: _Host, target: _Target, timeout_s: float, fresh: bool = False) -> _Conn:
        loop = asyncio.get_running_loop()
        if not fresh:
            conn = self._idle(host)
            if conn is not None:
                return conn
        if host.open < self._max:
            host.open += 1
            return await self._open(host, loop, target, timeout_s)
        got = await self._wait_turn(host, timeout_s)
        if got is not None:
            return got
        return await self._open(host, loop, target, timeout_s)  # a slot handed over, already counted

    async def _wait_turn(self, host: _Host, timeout_s: float) -> _Conn | None:
        """Wait for a connection or a slot, first come first served; ``PoolTimeout`` after
        ``timeout_s`` (the host's one timer expires waiters: no timer per request)."""
        loop = asyncio.get_running_loop()
        turn: asyncio.Future[_Conn | None] = loop.create_future()
        deadline = loop.time() + timeout_s
        host.waiters.append((turn, deadline, timeout_s))
        if host.timer is None or deadline < host.timer.when():
            if host.timer is not None:
                host.timer.cancel()
            host.timer = loop.call_at(deadline, self._expire_waiters, host)
        try:
            return await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled() and turn.exception() is None:
                self._give(host, turn.result())  # handed over just now: pass it on
            raise

    def _expire_waiters(self, host: _Host) -> None:
        """Fail the waiters past their deadline; re-arm for the earliest one left."""
        host.timer = None
        now = asyncio.get_running_loop().time()
        left: deque[tuple[asyncio.Future[_Conn | None], float, float]] = deque()
        for turn, deadline, timeout_s in host.waiters:
            if turn.done():
                continue
            if deadline <= now:
                turn.set_exception(httpx.PoolTimeout(f"no free connection within {timeout_s:g}s"))
            else:
                left.append((turn, deadline, timeout_s))
        host.waiters = left
        if left:
            earliest = min(deadline for _, deadline, _ in left)
            host.timer = asyncio.get_running_loop().call_at(earliest, self._expire_waiters, host)

    async def _open(self, host: _Host, loop: asyncio.AbstractEventLoop, target: _Target,
                    timeout_s: float) -> _Conn:
        """A new connection in a slot already counted in ``host.open`` (given back on failure)."""
        try:
            async with asyncio.timeout(timeout_s):
                _, conn = await loop.create_connection(
                    lambda: _Conn(loop), target.host, target.port,
                    ssl=(self._ssl or ssl.create_default_context()) if target.tls else None,
                    server_hostname=target.host if target.tls else None)
        except BaseException as e:
            self._give(host, None)
            if isinstance(e, TimeoutError):
                raise httpx.ConnectTimeout(f"connecting took over {timeout_s:g}s") from None
            if isinstance(e, (OSError, ssl.SSLError)):
                raise httpx.ConnectError(f"cannot connect: {e}") from None
            raise
        return conn

    def _give(self, host: _Host, conn: _Conn | None) -> None:
        """Hand ``conn`` (None: its slot) to the first waiter; else keep it idle (or free the slot)."""
        while host.waiters:
            turn = host.waiters.popleft()[0]
            if not turn.done():
                turn.set_result(conn)
                return
        if conn is None:
            host.open -= 1
        else:
            conn.idle_since = asyncio.get_running_loop().time()
            host.idle.append(conn)

    async def aclose(self) -> None:
        """Close every idle connection (requests in flight keep theirs until they end)."""
        for host in self._hosts.values():
            while host.idle:
                host.idle.pop().close()
                host.open -= 1
