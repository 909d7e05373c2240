"""Edge limits as units: the connection cap's bound, the rate-limited accept error, and the
deadlines of the limited h11 protocol driven by a fake transport and loop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import uvicorn
from uvicorn.server import ServerState

from sloguard.api._edge import (
    AcceptErrorFilter,
    EdgeLimits,
    EdgeStats,
    connection_cap,
    limited_protocol,
)


def test_connection_cap_stays_below_a_third_of_the_open_files_limit() -> None:
    assert connection_cap(512, 1_048_576) == 512
    assert connection_cap(512, 1024) == 341
    assert connection_cap(0, 3000) == 1000  # 0: only the open-files bound
    assert connection_cap(512, 10) == 16


def _record(msg: str) -> logging.LogRecord:
    return logging.LogRecord("asyncio", logging.ERROR, __file__, 1, msg, None, None)


def test_accept_errors_are_logged_once_a_minute_with_a_count_of_the_rest() -> None:
    now = [0.0]
    f = AcceptErrorFilter(every_s=60, clock=lambda: now[0])
    msg = "socket.accept() out of system resource"
    assert f.filter(_record(msg))
    assert [f.filter(_record(msg)) for _ in range(1000)] == [False] * 1000
    assert f.filter(_record("something else"))  # other asyncio errors pass
    now[0] = 61.0
    again = _record(msg)
    assert f.filter(again) and "1000 more" in again.getMessage()


class _Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.closed = False
        self.aborted = False
        self.written = b""

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 5000), "sockname": ("127.0.0.1", 9090)}.get(name, default)

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def write(self, data: bytes) -> None:  # type: ignore[override]
        self.written += data

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


class _Loop:
    """Records ``call_later`` so a test fires deadlines by hand (no sleeping)."""

    def __init__(self) -> None:
        self.timers: list[tuple[float, Any, asyncio.TimerHandle]] = []
        self._loop = asyncio.get_event_loop_policy().new_event_loop()
        self._loop.close()  # only named by the handles, never run

    def call_later(self, delay: float, fn: Any) -> asyncio.TimerHandle:
        handle = asyncio.TimerHandle(0, fn, (), self._loop)
        self.timers.append((delay, fn, handle))
        return handle

    def pending(self) -> list[float]:
        return [d for d, _, h in self.timers if not h.cancelled()]

    def fire(self) -> None:
        for _, fn, h in list(self.timers):
            if not h.cancelled():
                h.cancel()
                fn()

    def create_task(self, coro: Any, **kw: Any) -> Any:
        coro.close()

        class _T:
            def add_done_callback(self, cb: Any) -> None:
                pass
        return _T()


def _connector(limits: EdgeLimits, stats: EdgeStats) -> Callable[[], tuple[Any, _Transport, _Loop]]:
    """Makes connections to one server (one protocol class, one server state)."""
    async def app(scope: Any, receive: Any, send: Any) -> None:
        pass

    config = uvicorn.Config(app, log_config=None, http=limited_protocol(limits, stats))
    config.load()
    state = ServerState()

    def connect() -> tuple[Any, _Transport, _Loop]:
        loop = _Loop()
        cls: Any = config.http_protocol_class
        proto = cls(config=config, server_state=state, app_state={}, _loop=loop)
        transport = _Transport()
        proto.connection_made(transport)
        return proto, transport, loop

    return connect


def _protocol(limits: EdgeLimits, stats: EdgeStats) -> tuple[Any, _Transport, _Loop]:
    return _connector(limits, stats)()


def test_a_connection_that_never_finishes_its_headers_is_closed_at_the_header_deadline() -> None:
    stats = EdgeStats()
    proto, transport, loop = _protocol(EdgeLimits(header_timeout_s=10, read_timeout_s=300), stats)
    proto.data_received(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    assert loop.pending() == [10]
    loop.fire()
    assert transport.closed and stats.timed_out == 1


def test_after_the_headers_the_whole_request_deadline_applies_until_the_body_is_read() -> None:
    stats = EdgeStats()
    proto, transport, loop = _protocol(EdgeLimits(header_timeout_s=10, read_timeout_s=300), stats)
    proto.data_received(b"POST /w HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234")
    (left,) = loop.pending()
    assert 299 < left <= 300  # re-armed for the rest of the read timeout
    proto.data_received(b"56789")
    assert loop.pending() == [] and not transport.closed  # body complete: no deadline while the app works


def test_at_the_cap_the_oldest_idle_connection_makes_room_and_busy_ones_never_do() -> None:
    stats = EdgeStats()
    connect = _connector(EdgeLimits(max_connections=2), stats)
    (_, t1, _), (p2, t2, _) = connect(), connect()
    p3, t3, _ = connect()  # both held connections are still sending headers
    assert t1.aborted and not t2.aborted and not t3.aborted and stats.evicted == 1
    for p in (p2, p3):  # both start working on a request (headers complete, body pending)
        p.data_received(b"POST /w HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n")
    _, t4, _ = connect()
    assert t4.aborted and t4.written == b"" and stats.rejected == 1
    assert not t2.aborted and not t3.aborted
