"""The built-in proxy's connection handler: one coroutine per client connection, one
request at a time (HTTP/1.1 keep-alive), each sent to the pool the routing table chooses.

Failures never stop the proxy: a refused or oversized request gets a 4xx and the
connection closes; an upstream that cannot be reached gives 502 (after trying each
address of the version once), one that does not answer in time 504, a version with no
address 503. A mirrored copy is sent by a bounded background task and its answer dropped.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from time import perf_counter

from sloguard.delivery.routers._proxy_http import (
    HttpError,
    Request,
    Response,
    error_response,
    parse_request,
    read_body,
    read_response_head,
    relay_body,
    response_head,
    upstream_request,
)
from sloguard.delivery.routers._proxy_metrics import RedMetrics
from sloguard.delivery.routers._proxy_pool import Conn, Pool, Upstream
from sloguard.delivery.routers._proxy_table import RoutingTable

_IDEMPOTENT = frozenset({b"GET", b"HEAD", b"PUT", b"DELETE", b"OPTIONS", b"TRACE"})


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on what a client may send and how long anything may take (seconds, bytes)."""

    max_header_bytes: int = 16384
    max_headers: int = 100
    max_body_bytes: int = 10 * 1024 * 1024
    client_idle_timeout_s: float = 60.0
    connect_timeout_s: float = 2.0
    upstream_timeout_s: float = 30.0
    max_idle_per_upstream: int = 64
    mirror_max_in_flight: int = 32
    mirror_timeout_s: float = 10.0


class _Idle:
    """Closes a client connection idle for ``seconds`` (no request or body bytes being
    awaited past it) with one timer per connection, re-armed lazily: a request only
    stamps the time, so the hot path creates no timer."""

    __slots__ = ("writer", "seconds", "last", "busy", "_loop", "_handle")

    def __init__(self, writer: asyncio.StreamWriter, seconds: float) -> None:
        self.writer, self.seconds, self.busy = writer, seconds, False
        self._loop = asyncio.get_running_loop()
        self.last = self._loop.time()
        self._handle = self._loop.call_later(seconds, self._check)

    def touch(self) -> None:
        self.last = self._loop.time()

    def _check(self) -> None:
        due = self.last + self.seconds
        if self.busy or due > self._loop.time():
            self._handle = self._loop.call_at(max(due, self._loop.time() + 0.5), self._check)
        else:
            self.writer.close()

    def cancel(self) -> None:
        self._handle.cancel()


class _UpstreamFailed(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _expire(writer: asyncio.StreamWriter, expired: list[bool]) -> None:
    expired.append(True)
    writer.transport.abort()


class ProxyHandler:
    """Serves client connections against the current ``table`` (replaced whole on change)."""

    def __init__(self, table: RoutingTable, metrics: RedMetrics, limits: Limits,
                 rng: random.Random, sticky_cookie: str | None) -> None:
        self.table = table
        self.metrics = metrics
        self.limits = limits
        self.rng = rng
        self.sticky_cookie = sticky_cookie
        self.mirrors_in_flight = 0
        self.mirrors_dropped = 0
        self.mirror_tasks: set[asyncio.Task[None]] = set()
        self.clients: set[asyncio.StreamWriter] = set()
        self.tasks: set[asyncio.Task[object]] = set()

    async def close_clients(self) -> None:
        """Close every client connection and end its handler."""
        for writer in list(self.clients):
            writer.close()
        for task in list(self.tasks):
            task.cancel()
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=5)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        client_ip = str(peer[0]).encode() if peer else b"unknown"
        self.clients.add(writer)
        task = asyncio.current_task()
        if task is not None:
            self.tasks.add(task)
        idle = _Idle(writer, self.limits.client_idle_timeout_s)
        try:
            while await self._one(reader, writer, client_ip, idle):
                idle.touch()
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            pass  # the proxy is stopping: this connection ends with it
        finally:
            idle.cancel()
            if task is not None:
                self.tasks.discard(task)
            self.clients.discard(writer)
            writer.close()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                   client_ip: bytes, idle: _Idle) -> bool:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return False
        except (asyncio.LimitOverrunError, ValueError):
            return await self._refuse(writer, HttpError(431, f"the request head is over {self.limits.max_header_bytes} bytes"))
        start = perf_counter()
        try:
            req = parse_request(head, self.limits.max_headers)
            if req.expect_continue:
                writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            if req.content_length or req.chunked:
                idle.touch()
                await read_body(req, reader, self.limits.max_body_bytes)
        except HttpError as e:
            return await self._refuse(writer, e)
        idle.busy = True
        try:
            return await self._route(req, writer, client_ip, start)
        finally:
            idle.busy = False

    async def _refuse(self, writer: asyncio.StreamWriter, e: HttpError) -> bool:
        writer.write(error_response(e.status, str(e), close=True))
        await writer.drain()
        return False

    async def _route(self, req: Request, writer: asyncio.StreamWriter, client_ip: bytes, start: float) -> bool:
        table = self.table
        pool, set_cookie = table.choose(req, self.rng, self.sticky_cookie)
        mirror = table.mirror(req, self.rng) if table.compiled_mirrors else None
        data = upstream_request(req, client_ip)
        if mirror is not None:
            self._start_mirror(mirror, data)
        extra = b""
        if set_cookie:
            extra = f"Set-Cookie: {self.sticky_cookie}={pool.name}; Path=/; HttpOnly; SameSite=Lax".encode()
        pool.begin()
        try:
            code, keep = await self._exchange(pool, req, data, writer, extra)
        finally:
            pool.end()
        self.metrics.observe(pool.name, code, perf_counter() - start)
        return keep

    async def _exchange(self, pool: Pool, req: Request, data: bytes,
                        writer: asyncio.StreamWriter, extra: bytes) -> tuple[int, bool]:
        try:
            upstream, conn, resp = await self._send(pool, req, data)
        except _UpstreamFailed as e:
            writer.write(error_response(e.status, str(e), close=not req.keep_alive))
            await writer.drain()
            return e.status, req.keep_alive
        close = not req.keep_alive or (resp.length is None and not resp.chunked)
        reusable = False
        try:
            if resp.length is not None and resp.length <= 65536:
                body = await conn[0].readexactly(resp.length) if resp.length else b""
                writer.write(response_head(resp, extra, close) + body)
            else:
                writer.write(response_head(resp, extra, close))
                await relay_body(resp, conn[0], writer)
            reusable = (resp.length is not None or resp.chunked) and not resp.upstream_close
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            close = True  # the response was cut short: the client sees a closed connection
        finally:
            pool.release(upstream, conn, reusable)
        await writer.drain()
        return resp.status, not close

    async def _send(self, pool: Pool, req: Request, data: bytes) -> tuple[Upstream, Conn, Response]:
        """Send to the pool's upstreams in turn until one answers with a response head."""
        if not pool.upstreams:
            raise _UpstreamFailed(503, f"version {pool.name!r} has no upstream address")
        failure = _UpstreamFailed(502, f"no upstream of version {pool.name!r} could be reached")
        for upstream in pool.order():
            try:
                return upstream, *await self._try(upstream, req, data)
            except TimeoutError:
                raise _UpstreamFailed(504, f"upstream {upstream.address} of version {pool.name!r} did not answer in time") from None
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as e:
                failure = _UpstreamFailed(502, f"upstream {upstream.address} of version {pool.name!r} failed: {type(e).__name__}")
        raise failure

    async def _try(self, upstream: Upstream, req: Request, data: bytes) -> tuple[Conn, Response]:
        conn = upstream.idle()
        if conn is not None:  # a pooled connection the upstream may have closed meanwhile
            try:
                return conn, await self._roundtrip(conn, req, data)
            except (ConnectionError, asyncio.IncompleteReadError):
                conn[1].close()
                if req.method not in _IDEMPOTENT:
                    raise
        conn = await upstream.connect(self.limits.connect_timeout_s)
        try:
            return conn, await self._roundtrip(conn, req, data)
        except BaseException:
            conn[1].close()
            raise

    async def _roundtrip(self, conn: Conn, req: Request, data: bytes) -> Response:
        """Send the request; the response head, or TimeoutError past the upstream timeout
        (a plain timer aborting the connection: cheaper than a timeout scope per request)."""
        conn[1].write(data)
        expired: list[bool] = []
        handle = asyncio.get_running_loop().call_later(self.limits.upstream_timeout_s, _expire, conn[1], expired)
        try:
            return await read_response_head(conn[0], req.method == b"HEAD")
        except (ConnectionError, asyncio.IncompleteReadError):
            if expired:
                raise TimeoutError from None
            raise
        finally:
            handle.cancel()

    def _start_mirror(self, pool: Pool, data: bytes) -> None:
        if self.mirrors_in_flight >= self.limits.mirror_max_in_flight:
            self.mirrors_dropped += 1
            return
        self.mirrors_in_flight += 1
        task = asyncio.get_running_loop().create_task(self._mirror(pool, data))
        self.mirror_tasks.add(task)
        task.add_done_callback(self.mirror_tasks.discard)

    async def _mirror(self, pool: Pool, data: bytes) -> None:
        """Send a copy on a fresh connection; read the answer and drop it."""
        try:
            upstream = pool.order()[0] if pool.upstreams else None
            if upstream is None:
                return
            reader, writer = await upstream.connect(self.limits.connect_timeout_s)
            try:
                async with asyncio.timeout(self.limits.mirror_timeout_s):
                    writer.write(data.replace(b"\r\n", b"\r\nConnection: close\r\n", 1))
                    await writer.drain()
                    await reader.read()
            finally:
                writer.close()
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            self.mirrors_dropped += 1
        finally:
            self.mirrors_in_flight -= 1
