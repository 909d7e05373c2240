"""The built-in proxy's shared request handling: the bounds (``Limits``), and the
``ProxyHandler`` every client connection routes through: it picks the pool from the
current routing table, starts a mirrored copy when a mirror route says so, and hands the
request to an ``Exchange``. A mirrored copy is sent by a bounded background task on its
own connection and its answer dropped.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sloguard.delivery.routers._proxy_exchange import Exchange
from sloguard.delivery.routers._proxy_http import Request, upstream_request
from sloguard.delivery.routers._proxy_metrics import RedMetrics
from sloguard.delivery.routers._proxy_pool import Pool
from sloguard.delivery.routers._proxy_table import RoutingTable

if TYPE_CHECKING:
    from sloguard.delivery.routers._proxy_client import ClientProtocol


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


class ProxyHandler:
    """Routes requests against the current ``table`` (replaced whole on change)."""

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
        self.clients: set[ClientProtocol] = set()
        self._timeouts = (limits.connect_timeout_s, limits.upstream_timeout_s)

    async def close_clients(self) -> None:
        """Close every client connection (what was written is still sent)."""
        for client in list(self.clients):
            client.close()
        await asyncio.sleep(0)  # let the transports report their loss

    def route(self, client: ClientProtocol, req: Request) -> Exchange:
        """The exchange that will answer ``req`` (its pool already counts it in flight)."""
        table = self.table
        pool, set_cookie = table.choose(req, self.rng, self.sticky_cookie)
        mirror = table.mirror(req, self.rng) if table.compiled_mirrors else None
        data = upstream_request(req, client.client_ip)
        if mirror is not None:
            self._start_mirror(mirror, data)
        extra = b""
        if set_cookie:
            extra = f"Set-Cookie: {self.sticky_cookie}={pool.name}; Path=/; HttpOnly; SameSite=Lax".encode()
        pool.begin()
        return Exchange(client, pool, req, data, extra, self._timeouts, self.limits.max_header_bytes)

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
            async with asyncio.timeout(self.limits.connect_timeout_s):
                reader, writer = await asyncio.open_connection(upstream.host, upstream.port)
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
