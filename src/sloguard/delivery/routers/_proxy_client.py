"""The built-in proxy's client side: one ``asyncio.Protocol`` per client connection,
reading requests from a buffer (the head found with one ``bytes.find`` and parsed in one
pass, the body taken by Content-Length or decoded from chunks) and serving them one at a
time (HTTP/1.1 keep-alive; pipelined requests wait in the buffer for their turn).

A refused request (oversized or malformed head or body) gets a 4xx and the connection
closes. A connection idle for ``client_idle_timeout_s`` (no request completed, no body
begun) is closed by one lazily re-armed timer per connection.
"""

from __future__ import annotations

import asyncio
from time import perf_counter
from typing import TYPE_CHECKING

from sloguard.delivery.routers._proxy_exchange import Exchange
from sloguard.delivery.routers._proxy_framing import ChunkedBody
from sloguard.delivery.routers._proxy_http import HttpError, Request, error_response, parse_request

if TYPE_CHECKING:
    from sloguard.delivery.routers._proxy_server import ProxyHandler


class ClientProtocol(asyncio.Protocol):
    """Serves one client connection against ``handler`` (its routing table, pools, metrics)."""

    def __init__(self, handler: ProxyHandler) -> None:
        self.handler = handler
        self.limits = handler.limits
        self.transport: asyncio.Transport | None = None
        self.client_ip = b"unknown"
        self.buf = bytearray()
        self.req: Request | None = None
        self.chunks: ChunkedBody | None = None
        self.exchange: Exchange | None = None
        self.closed = False
        self.eof = False
        self.start = 0.0
        self._loop = asyncio.get_running_loop()
        self._last = self._loop.time()
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a TCP connection: a Transport
        peer = transport.get_extra_info("peername")
        if peer:
            self.client_ip = str(peer[0]).encode()
        self.handler.clients.add(self)
        self._timer = self._loop.call_later(self.limits.client_idle_timeout_s, self._check_idle)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.handler.clients.discard(self)
        if self._timer is not None:
            self._timer.cancel()
        if self.exchange is not None:
            self.exchange.client_gone()

    def eof_received(self) -> bool:
        """The client will send no more: answer what it sent, then close."""
        self.eof = True
        if self.exchange is None:
            self.close()
        return True  # keep the transport open for the answer in flight

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if self.exchange is None:
            self._process()
        elif len(self.buf) > self.limits.max_header_bytes and self.transport is not None:
            self.transport.pause_reading()  # a pipelined request waits; so does its sender

    def pause_writing(self) -> None:
        if self.exchange is not None:
            self.exchange.pause()

    def resume_writing(self) -> None:
        if self.exchange is not None:
            self.exchange.resume()

    # -- requests ----------------------------------------------------------------------

    def _process(self) -> None:
        if self.closed or self.exchange is not None:
            return
        if (self.req is not None or self._read_head()) and self._read_body() and self.req is not None:
            req, self.req = self.req, None
            self.exchange = self.handler.route(self, req)
            self.exchange.start()
        elif self.eof:
            self.close()  # what is left can never be a whole request

    def _read_head(self) -> bool:
        """Whether a whole head was in the buffer (now parsed into ``self.req``)."""
        buf, limit = self.buf, self.limits.max_header_bytes
        end = buf.find(b"\r\n\r\n")
        if end < 0 and len(buf) <= limit:
            return False
        if end < 0 or end + 4 > limit:
            return self._refuse(HttpError(431, f"the request head is over {limit} bytes"))
        self.start = perf_counter()
        head = bytes(buf[:end + 4])
        del buf[:end + 4]
        try:
            req = parse_request(head, self.limits.max_headers)
            if req.content_length > self.limits.max_body_bytes:
                raise HttpError(413, f"a body of {req.content_length} bytes is over the limit "
                                     f"of {self.limits.max_body_bytes}")
        except HttpError as e:
            return self._refuse(e)
        if req.expect_continue:
            self.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        if req.chunked or req.content_length:
            self._last = self._loop.time()
            self.chunks = ChunkedBody(self.limits.max_body_bytes) if req.chunked else None
        self.req = req
        return True

    def _read_body(self) -> bool:
        """Whether the current request's body is complete (now in ``req.body``)."""
        req = self.req
        if req is None:
            return False
        if self.chunks is not None:
            try:
                used = self.chunks.feed(self.buf)
            except HttpError as e:
                return self._refuse(e)
            del self.buf[:used]
            if not self.chunks.done:
                return False
            req.body, self.chunks = self.chunks.body(), None
        elif req.content_length:
            if len(self.buf) < req.content_length:
                return False
            req.body = bytes(self.buf[:req.content_length])
            del self.buf[:req.content_length]
        return True

    def _refuse(self, e: HttpError) -> bool:
        self.req = self.chunks = None
        self.write(error_response(e.status, str(e), close=True))
        self.close()
        return False

    # -- answers (called by the exchange) -----------------------------------------------

    def write(self, data: bytes) -> None:
        if not self.closed and self.transport is not None and data:
            self.transport.write(data)

    def finish(self, exchange: Exchange, status: int, keep_alive: bool) -> None:
        """The exchange is over: count it, then close or go on with the next request."""
        self.exchange = None
        exchange.pool.end()
        self.handler.metrics.observe(exchange.pool.name, status, perf_counter() - self.start)
        if not keep_alive:
            self.close()
            return
        self._last = self._loop.time()
        if (self.buf or self.eof) and not self.closed:
            self._loop.call_soon(self._next)

    def _next(self) -> None:
        if self.transport is not None and not self.closed and not self.transport.is_reading():
            self.transport.resume_reading()
        self._process()

    def close(self) -> None:
        """Close after what was written is sent."""
        if self.transport is not None and not self.closed:
            self.closed = True
            self.transport.close()

    def _check_idle(self) -> None:
        due = self._last + self.limits.client_idle_timeout_s
        now = self._loop.time()
        if self.exchange is not None or due > now:
            self._timer = self._loop.call_at(max(due, now + 0.5), self._check_idle)
        else:
            self.close()
