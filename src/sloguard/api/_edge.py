"""Connection limits at the edge: slow clients are timed out, connections are capped.

uvicorn's h11 protocol has a keep-alive timeout but no deadline for reading a request, so
a client that sends half a header line holds its socket (and a file descriptor) forever.
``limited_protocol(limits)`` returns an ``H11Protocol`` subclass that

* closes a connection whose request headers are not complete ``header_timeout_s`` after
  the request started (Go's ``ReadHeaderTimeout``), and one whose whole request (headers
  and body) is not read within ``read_timeout_s`` (Go's ``ReadTimeout``, Prometheus'
  ``--web.read-timeout``);
* keeps at most ``max_connections`` open (Prometheus' ``--web.max-connections``): a new
  connection at the cap closes the oldest connection that is not working on a request
  (still sending its headers, or idle between requests), so slow clients cannot lock
  out fast ones; when every connection is working on a request, the new one is closed
  at once. Neither writes a response or a log line.

The cap is kept below the process' file-descriptor limit (``connection_cap``), and
asyncio's "socket.accept() out of system resource" error, should it still happen, is
logged at most once a minute (``AcceptErrorFilter``).
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("sloguard.server")

#: The share of file descriptors left to the storage, scrapes and the accept batch.
FD_SHARE_FOR_CONNECTIONS = 3


@dataclass(frozen=True, slots=True)
class EdgeLimits:
    """Deadlines (seconds, 0 = none) and the connection cap (0 = none) for HTTP clients."""

    header_timeout_s: float = 10.0
    read_timeout_s: float = 300.0
    max_connections: int = 512


@dataclass(slots=True)
class EdgeStats:
    """Counters for ``/metrics``: connections refused at the cap (all busy), evicted to make
    room (the oldest not working on a request), or closed for being too slow."""

    rejected: int = 0
    evicted: int = 0
    timed_out: int = 0


def raise_nofile_limit() -> int:
    """Raise the soft ``RLIMIT_NOFILE`` to the hard limit; return the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError) as e:
            log.warning("cannot raise the open-files limit", extra={"soft": soft, "hard": hard, "err": str(e)})
    return soft


def connection_cap(flag: int, nofile: int) -> int:
    """``--web.max-connections`` bounded by a third of the open-files limit (0 = only that bound)."""
    bound = max(16, nofile // FD_SHARE_FOR_CONNECTIONS)
    return bound if flag <= 0 else min(flag, bound)


class _Deadline:
    """One pending ``call_later`` that can be re-armed or cancelled."""

    __slots__ = ("_handle",)

    def __init__(self) -> None:
        self._handle: asyncio.TimerHandle | None = None

    def arm(self, loop: asyncio.AbstractEventLoop, seconds: float, fn: Callable[[], None]) -> None:
        self.cancel()
        if seconds > 0:
            self._handle = loop.call_later(seconds, fn)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    @property
    def armed(self) -> bool:
        return self._handle is not None


def limited_protocol(limits: EdgeLimits, stats: EdgeStats) -> type[H11Protocol]:
    """An ``H11Protocol`` enforcing ``limits`` (pass it as ``uvicorn.Config(http=...)``)."""
    # Connections not working on a request (still sending headers, or idle between
    # requests), oldest first: at the cap, the oldest is closed to make room.
    idle: OrderedDict[H11Protocol, None] = OrderedDict()

    class LimitedH11Protocol(H11Protocol):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._rejected = False
            self._deadline = _Deadline()
            self._request_started = 0.0

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            if limits.max_connections and len(self.connections) >= limits.max_connections and not _evict_one():
                self._rejected = True
                stats.rejected += 1
                transport.abort()
                return
            super().connection_made(transport)
            idle[self] = None
            self._start_request()

        def connection_lost(self, exc: Exception | None) -> None:
            self._deadline.cancel()
            idle.pop(self, None)
            if not self._rejected:
                super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if not self._deadline.armed and (self.cycle is None or self.cycle.response_complete):
                self._start_request()  # the first bytes of the next request on a kept-alive connection
            super().data_received(data)

        def handle_events(self) -> None:
            before = self.cycle
            super().handle_events()
            cycle = self.cycle
            if cycle is None or cycle.response_complete:
                return  # still reading the next request's headers
            idle.pop(self, None)  # working on a request: never evicted
            if not cycle.more_body:
                self._deadline.cancel()  # the whole request is read
            elif cycle is not before and limits.read_timeout_s:
                left = self._request_started + limits.read_timeout_s - time.monotonic()
                self._deadline.arm(self.loop, max(left, 0.001), self._too_slow)

        def on_response_complete(self) -> None:
            self._deadline.cancel()
            self._request_started = time.monotonic()  # a pipelined request starts now
            idle[self] = None
            super().on_response_complete()

        def _start_request(self) -> None:
            self._request_started = time.monotonic()
            first = [t for t in (limits.header_timeout_s, limits.read_timeout_s) if t > 0]
            if first:
                self._deadline.arm(self.loop, min(first), self._too_slow)

        def _too_slow(self) -> None:
            self._deadline._handle = None
            if not self.transport.is_closing():
                stats.timed_out += 1
                self.transport.close()

    def _evict_one() -> bool:
        """Close the oldest connection not working on a request; ``False`` if there is none."""
        while idle:
            victim, _ = idle.popitem(last=False)
            if not victim.transport.is_closing():
                stats.evicted += 1
                victim.transport.abort()
                return True
        return False

    return LimitedH11Protocol


class AcceptErrorFilter(logging.Filter):
    """Lets asyncio's "socket.accept() out of system resource" through once per ``every_s``."""

    MESSAGE = "socket.accept() out of system resource"

    def __init__(self, every_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._every_s = every_s
        self._clock = clock
        self._last: float | None = None
        self.suppressed = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith(self.MESSAGE):
            return True
        now = self._clock()
        if self._last is not None and now - self._last < self._every_s:
            self.suppressed += 1
            return False
        self._last = now
        if self.suppressed:
            record.msg = f"{record.msg} ({self.suppressed} more since the last report not logged)"
            self.suppressed = 0
        return True


def install_accept_error_filter() -> AcceptErrorFilter:
    """Rate-limit the accept error on the ``asyncio`` logger (idempotent)."""
    logger = logging.getLogger("asyncio")
    for f in logger.filters:
        if isinstance(f, AcceptErrorFilter):
            return f
    f = AcceptErrorFilter()
    logger.addFilter(f)
    return f
