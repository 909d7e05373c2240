"""One request's trip through the built-in proxy, driven by callbacks (no task, no await
on the hot path): send it on a pooled upstream connection (or a new one), parse the
response head in one pass when its bytes arrive, and pass the body straight on to the
client's transport as the upstream framed it (Content-Length, chunked, or until close).

Failures: an upstream that cannot be reached, closes early or sends garbage is skipped
for the next address of the version (a pooled connection the upstream closed meanwhile
is retried once on a fresh one for idempotent methods); none left gives 502, no head
within ``upstream_timeout_s`` gives 504, a version without addresses 503.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from sloguard.delivery.routers._proxy_framing import ChunkScanner
from sloguard.delivery.routers._proxy_http import (
    Request,
    Response,
    error_response,
    parse_response_head,
    response_head,
)
from sloguard.delivery.routers._proxy_pool import Pool, Upstream, UpstreamConn

IDEMPOTENT = frozenset({b"GET", b"HEAD", b"PUT", b"DELETE", b"OPTIONS", b"TRACE"})


class ClientSide(Protocol):
    """What an exchange needs of the client connection it answers."""

    def write(self, data: bytes) -> None: ...

    def finish(self, exchange: Exchange, status: int, keep_alive: bool) -> None: ...


class Exchange:
    """Sends ``data`` (the request re-framed for the upstream) to ``pool`` and relays the
    answer to ``client``; calls ``client.finish`` exactly once."""

    __slots__ = ("client", "pool", "req", "data", "extra", "connect_s", "timeout_s", "max_head",
                 "order", "index", "conn", "fresh", "resp", "buf", "left", "scanner", "close",
                 "failure", "connecting")

    def __init__(self, client: ClientSide, pool: Pool, req: Request, data: bytes, extra: bytes,
                 timeouts: tuple[float, float], max_head: int) -> None:
        self.client, self.pool, self.req, self.data, self.extra = client, pool, req, data, extra
        self.connect_s, self.timeout_s = timeouts
        self.max_head = max_head
        self.order: tuple[Upstream, ...] = ()
        self.index = 0
        self.conn: UpstreamConn | None = None
        self.fresh = False
        self.resp: Response | None = None
        self.buf = b""
        self.left = 0
        self.scanner: ChunkScanner | None = None
        self.close = False
        self.failure = ""
        self.connecting: asyncio.Task[UpstreamConn] | None = None

    def start(self) -> None:
        self.order = self.pool.order()
        if not self.order:
            self._fail(503, f"version {self.pool.name!r} has no upstream address")
        else:
            self._next()

    # -- reaching an upstream --------------------------------------------------------

    def _next(self) -> None:
        if self.index >= len(self.order):
            self._fail(502, self.failure or f"no upstream of version {self.pool.name!r} could be reached")
            return
        conn = self.order[self.index].idle()
        if conn is None:
            self._connect()
        else:
            self._send(conn, fresh=False)

    def _connect(self) -> None:
        task = asyncio.get_running_loop().create_task(self.order[self.index].connect(self.connect_s))
        self.connecting = task
        task.add_done_callback(self._connected)

    def _connected(self, task: asyncio.Task[UpstreamConn]) -> None:
        self.connecting = None
        if task.cancelled():
            self._skip("the proxy is stopping")
        elif (exc := task.exception()) is not None:
            self._skip(type(exc).__name__)
        else:
            self._send(task.result(), fresh=True)

    def _skip(self, why: str) -> None:
        """This upstream failed before answering: try the next address of the version."""
        up = self.order[self.index]
        self.failure = f"upstream {up.address} of version {self.pool.name!r} failed: {why}"
        self.index += 1
        self.buf = b""
        self._next()

    def _send(self, conn: UpstreamConn, fresh: bool) -> None:
        self.conn, self.fresh = conn, fresh
        conn.send(self, self.data, self.timeout_s)

    # -- events from the upstream connection -----------------------------------------

    def on_data(self, data: bytes) -> None:
        if self.resp is None:
            self._head(data)
        else:
            self._body(data, b"")

    def on_lost(self, exc: Exception | None) -> None:
        self.conn = None
        resp = self.resp
        if resp is None:
            if not self.fresh and self.req.method in IDEMPOTENT:
                self.buf = b""
                self._connect()  # a pooled connection the upstream had closed: once more, fresh
            else:
                self._skip(type(exc).__name__ if exc else "it closed the connection before answering")
        elif resp.length is None and not resp.chunked:
            self._complete(False)  # the body ran to the upstream's close: that is its end
        else:
            self.close = True  # cut short: the client sees a closed connection
            self._complete(False)

    def on_timeout(self) -> None:
        self.conn = None
        up = self.order[self.index]
        self._fail(504, f"upstream {up.address} of version {self.pool.name!r} did not answer in time")

    # -- the response ----------------------------------------------------------------

    def _head(self, data: bytes) -> None:
        if self.buf:
            data, self.buf = self.buf + data, b""
        resp = None
        while resp is None:
            end = data.find(b"\r\n\r\n")
            if end < 0 or end + 4 > self.max_head:
                if end < 0 and len(data) <= self.max_head:
                    self.buf = data  # the head is not complete yet
                else:
                    self._bad_upstream(f"a response head over {self.max_head} bytes")
                return
            try:
                resp = parse_response_head(data[:end + 4], self.req.method == b"HEAD")
            except ValueError as e:
                self._bad_upstream(str(e))
                return
            data = data[end + 4:]
        self._answer(resp, data)

    def _answer(self, resp: Response, data: bytes) -> None:
        if self.conn is not None:
            self.conn.waiting = False
        self.resp = resp
        self.close = not self.req.keep_alive or (resp.length is None and not resp.chunked)
        if resp.length is not None:
            self.left = resp.length
        elif resp.chunked:
            self.scanner = ChunkScanner()
        self._body(data, response_head(resp, self.extra, self.close))

    def _body(self, data: bytes, head: bytes) -> None:
        left = self.left
        if self.scanner is not None:
            try:
                end = self.scanner.end(data)
            except ValueError:
                self.client.write(head)
                self.close = True
                self._complete(False)
                return
            self.client.write(head + (data if end < 0 else data[:end]))
            if end >= 0:
                self._complete(end == len(data))
        elif self.resp is not None and self.resp.length is None:
            self.client.write(head + data)  # until the upstream closes
        elif len(data) < left:
            self.client.write(head + data)
            self.left = left - len(data)
        else:
            self.client.write(head + data[:left] if len(data) > left else head + data)
            self.left = 0
            self._complete(len(data) == left)

    def _bad_upstream(self, why: str) -> None:
        if self.conn is not None:
            self.conn.abort()
            self.conn = None
        self._skip(why)

    def _complete(self, reusable: bool) -> None:
        """The response is passed on (or cut short): release the connection, finish."""
        conn, self.conn = self.conn, None
        resp = self.resp
        if conn is not None:
            keep = reusable and resp is not None and not resp.upstream_close
            self.pool.release(self.order[self.index], conn, keep)
        self.client.finish(self, resp.status if resp is not None else 502, not self.close)

    def _fail(self, status: int, message: str) -> None:
        keep = self.req.keep_alive
        self.client.write(error_response(status, message, close=not keep))
        self.client.finish(self, status, keep)

    # -- the client side -------------------------------------------------------------

    def client_gone(self) -> None:
        """The client closed mid-answer: stop relaying (a head still awaited is let come,
        so the connection stays reusable)."""
        if self.resp is not None and self.conn is not None:
            self.conn.abort()
            self.conn, self.close = None, True
            self._complete(False)


    def pause(self) -> None:
        """The client cannot take more now: stop reading the upstream."""
        if self.conn is not None and self.conn.transport is not None:
            self.conn.transport.pause_reading()

    def resume(self) -> None:
        if self.conn is not None and self.conn.transport is not None and not self.conn.closed:
            self.conn.transport.resume_reading()
