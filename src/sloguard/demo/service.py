"""The demo service of ``sloguard demo``: one small asyncio HTTP/1.1 server per version.

Each version answers every request after a latency drawn from its profile, with a 500 for
a share of requests (its error ratio) and a 200 otherwise. Draws come from a seeded
``random.Random``, so the same seed gives the same sequence of answers. ``v1`` and ``v3``
are healthy; ``v2`` is subtly bad: about 1.8% errors instead of 0.5%, and a slower tail
(4% of its requests take 80-300 ms), far below a fixed 5% error threshold but plain to a
judge comparing it with the stable version on the same traffic.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

__all__ = ["PROFILES", "DemoError", "VersionProfile", "VersionServer", "VersionStats"]

_MAX_HEAD = 16 * 1024
_MAX_BODY = 1024 * 1024


class DemoError(Exception):
    """A demo piece cannot start or was given a value it cannot use."""


@dataclass(frozen=True, slots=True)
class VersionProfile:
    """How one version behaves. ``error_ratio``: share of requests answered 500.
    Latency: lognormal with ``median_s`` and shape ``sigma``; a share ``slow_ratio`` of
    requests instead takes a uniform time in ``slow_range_s`` (the tail)."""

    name: str
    error_ratio: float
    median_s: float
    sigma: float
    slow_ratio: float = 0.0
    slow_range_s: tuple[float, float] = (0.08, 0.3)

    def __post_init__(self) -> None:
        for what, v in (("error_ratio", self.error_ratio), ("slow_ratio", self.slow_ratio)):
            if not 0 <= v <= 1:
                raise DemoError(f"Version {self.name!r}: {what} must be between 0 and 1, got {v!r}.")
        if not (self.median_s > 0 and self.sigma >= 0):
            raise DemoError(f"Version {self.name!r}: median_s must be positive and sigma at least 0, "
                            f"got {self.median_s!r} and {self.sigma!r}.")
        lo, hi = self.slow_range_s
        if not 0 <= lo <= hi:
            raise DemoError(f"Version {self.name!r}: slow_range_s {self.slow_range_s!r} is not (low, high) with 0 <= low <= high.")

    def draw(self, rng: random.Random) -> tuple[int, float]:
        """One request's answer: (status code, latency in seconds)."""
        status = 500 if rng.random() < self.error_ratio else 200
        if self.slow_ratio and rng.random() < self.slow_ratio:
            return status, rng.uniform(*self.slow_range_s)
        return status, self.median_s * math.exp(self.sigma * rng.gauss(0.0, 1.0))


PROFILES: dict[str, VersionProfile] = {
    "v1": VersionProfile("v1", error_ratio=0.005, median_s=0.02, sigma=0.35),
    "v2": VersionProfile("v2", error_ratio=0.018, median_s=0.022, sigma=0.35, slow_ratio=0.04),
    "v3": VersionProfile("v3", error_ratio=0.005, median_s=0.019, sigma=0.35),
}
"""The demo's versions: v1 (stable) and v3 healthy, v2 with 3.6x the errors and a slow tail."""


@dataclass(slots=True)
class VersionStats:
    """What a version server answered so far."""

    requests: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)


Sleep = Callable[[float], Awaitable[None]]


class VersionServer:
    """One version on ``host:port`` (0: a free port); ``start()``, ``port``, ``stop()``."""

    def __init__(self, profile: VersionProfile, seed: int, host: str = "127.0.0.1", port: int = 0,
                 sleep: Sleep = asyncio.sleep, keep_latencies: bool = False) -> None:
        self.profile, self.host, self._port = profile, host, port
        self._rng = random.Random(seed)
        self._sleep, self._keep = sleep, keep_latencies
        self.stats = VersionStats()
        self._server: asyncio.Server | None = None
        self._conns: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        try:
            self._server = await asyncio.start_server(self._serve, self.host, self._port, limit=_MAX_HEAD)
        except OSError as e:
            raise DemoError(f"The demo version {self.profile.name!r} cannot listen on {self.host}:{self._port}: {e}") from e

    @property
    def port(self) -> int:
        if self._server is None:
            raise DemoError(f"The demo version {self.profile.name!r} is not started.")
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    async def stop(self) -> None:
        """Stop listening and close every connection (in-flight requests are cancelled)."""
        if self._server is not None:
            self._server.close()
        for task in list(self._conns):
            task.cancel()
        if self._conns:
            await asyncio.wait(list(self._conns), timeout=5)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    def answer(self) -> tuple[int, float]:
        """Draw the next answer and count it."""
        status, latency = self.profile.draw(self._rng)
        self.stats.requests += 1
        self.stats.errors += status >= 500
        if self._keep:
            self.stats.latencies.append(latency)
        return status, latency

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None  # noqa: S101  # always inside a task here
        self._conns.add(task)
        try:
            while await self._one(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass  # the client went away or sent something malformed: close
        except asyncio.CancelledError:
            pass  # stop(): asyncio's stream callback would log a cancelled handler as an error
        finally:
            self._conns.discard(task)
            writer.close()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Serve one request; whether the connection stays open."""
        head = await reader.readuntil(b"\r\n\r\n")
        length, close = _parse_head(head)
        if length > _MAX_BODY:
            writer.write(_response(413, "request body too large\n", True))
            return False
        if length:
            await reader.readexactly(length)
        status, latency = self.answer()
        await self._sleep(latency)
        body = f"{self.profile.name} {'ok' if status < 500 else 'failed'}\n"
        writer.write(_response(status, body, close, self.profile.name))
        await writer.drain()
        return not close


def _parse_head(head: bytes) -> tuple[int, bool]:
    """(Content-Length, whether to close after answering) from a request head."""
    lines = head.decode("latin-1").split("\r\n")
    version = lines[0].rsplit(" ", 1)[-1]
    close = version == "HTTP/1.0"
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        key = name.strip().lower()
        if key == "content-length":
            length = int(value.strip())
        elif key == "connection":
            close = value.strip().lower() == "close"
    return length, close


_REASONS = {200: "OK", 413: "Payload Too Large", 500: "Internal Server Error"}


def _response(status: int, body: str, close: bool, version: str = "") -> bytes:
    data = body.encode()
    head = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}", "Content-Type: text/plain",
            f"Content-Length: {len(data)}"]
    if version:
        head.append(f"X-Demo-Version: {version}")
    if close:
        head.append("Connection: close")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + data
