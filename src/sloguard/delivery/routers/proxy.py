"""The built-in traffic router: an asyncio HTTP/1.1 reverse proxy in front of a service's
versions (the embedded default).

Weighted routing between the stable and canary pools (and extra destinations such as a
baseline), header and cookie routes to the canary, sticky sessions by cookie, mirroring
(a bounded copy to the canary, its answer dropped), draining of a removed version (its
in-flight requests finish, new ones go elsewhere), keep-alive upstream pools, bounded
heads, bodies and waits, and per-version RED metrics flushed to a ``MetricSink`` (the
embedded TSDB) every ``flush_interval_s``. Runs on whatever event loop the caller runs
(``sloguard serve`` runs uvloop, see ``sloguard._eventloop``); the
hot path is Protocol callbacks (``_proxy_client``, ``_proxy_exchange``, ``_proxy_pool``),
no task or await per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
from dataclasses import dataclass, field
from typing import ClassVar

from sloguard.clock import Clock, SystemClock
from sloguard.delivery.routers._proxy_client import ClientProtocol
from sloguard.delivery.routers._proxy_metrics import DEFAULT_BUCKETS, MetricSink, RedMetrics
from sloguard.delivery.routers._proxy_pool import Pool
from sloguard.delivery.routers._proxy_server import Limits, ProxyHandler
from sloguard.delivery.routers._proxy_table import (
    RoutingTable,
    compile_header_routes,
    compile_mirror_routes,
)
from sloguard.delivery.routers._types import (
    Desired,
    Feature,
    HeaderRoute,
    MirrorRoute,
    RouterError,
    WeightDestination,
    check_weights,
)

__all__ = ["DEFAULT_BUCKETS", "Limits", "MetricSink", "ProxyConfig", "ProxyRouter", "Version"]


@dataclass(frozen=True, slots=True)
class Version:
    """A version of the service: its name (the ``version`` label) and ``host:port`` upstreams."""

    name: str
    upstreams: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ProxyConfig:
    """The proxy in front of ``service``. ``extra`` versions (a baseline) get traffic only
    through ``set_weight(..., additional=...)``. ``sticky_cookie`` names the cookie that pins
    a client to the version it was first sent to (None: no stickiness)."""

    service: str
    stable: Version
    canary: Version | None = None
    extra: tuple[Version, ...] = ()
    host: str = "127.0.0.1"
    port: int = 0
    sticky_cookie: str | None = None
    buckets: tuple[float, ...] = DEFAULT_BUCKETS
    flush_interval_s: float = 5.0
    drain_timeout_s: float = 30.0
    limits: Limits = field(default_factory=Limits)
    seed: int | None = None


def _check_config(c: ProxyConfig) -> None:
    for v in (c.stable, *([c.canary] if c.canary else []), *c.extra):
        _check_version(v, f"proxy for service {c.service!r}")
    names = [v.name for v in (c.stable, *([c.canary] if c.canary else []), *c.extra)]
    if len(set(names)) != len(names):
        raise RouterError(f"proxy for service {c.service!r}: version names {names} are not distinct.")


def _check_version(v: Version, where: str) -> None:
    if not v.name or not all(ch.isalnum() or ch in "-_." for ch in v.name):
        raise RouterError(f"{where}: version name {v.name!r} must be letters, digits, '-', '_' or '.'.")
    for a in v.upstreams:
        host, sep, port = a.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise RouterError(f"{where}: upstream {a!r} of version {v.name!r} is not host:port.")


class ProxyRouter:
    """``TrafficRouter`` for the built-in proxy. ``start()`` listens; every routing change
    swaps the whole routing table in one assignment, so requests never see half a change
    and a change may come from another thread (one writer at a time)."""

    TYPE: ClassVar[str] = "proxy"

    def __init__(self, config: ProxyConfig) -> None:
        _check_config(config)
        self.config = config
        self._extra = {v.name: self._pool(v) for v in config.extra}
        table = RoutingTable(self._pool(config.stable), self._pool(config.canary) if config.canary else None)
        self.metrics = RedMetrics(config.service, config.buckets)
        self._handler = ProxyHandler(table, self.metrics, config.limits, random.Random(config.seed), config.sticky_cookie)
        self._server: asyncio.Server | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._sink: MetricSink | None = None
        self._clock: Clock = SystemClock()
        self._retired: list[Pool] = []

    def _pool(self, v: Version) -> Pool:
        return Pool(v.name, v.upstreams, self.config.limits.max_idle_per_upstream)

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self, sink: MetricSink | None = None, clock: Clock | None = None) -> None:
        """Listen on ``config.host:port``; flush metrics to ``sink`` every flush interval."""
        self._sink, self._clock = sink, clock or SystemClock()
        try:
            self._server = await asyncio.get_running_loop().create_server(
                lambda: ClientProtocol(self._handler), self.config.host, self.config.port, backlog=1024,
            )
        except OSError as e:
            raise RouterError(f"proxy for service {self.config.service!r} cannot listen on "
                              f"{self.config.host}:{self.config.port}: {e}", retryable=True) from e
        if sink is not None:
            self._flusher = asyncio.get_running_loop().create_task(self._flush_loop())

    @property
    def port(self) -> int:
        if self._server is None:
            raise RouterError(f"proxy for service {self.config.service!r} is not started.")
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Stop listening, let in-flight requests finish (up to ``drain_timeout_s``), flush."""
        if self._server is not None:
            self._server.close()
        for pool in self._pools():
            await pool.wait_drained(self.config.drain_timeout_s)
            pool.retire()
        await self._handler.close_clients()
        for task in list(self._handler.mirror_tasks):
            task.cancel()
        if self._handler.mirror_tasks:
            await asyncio.wait(list(self._handler.mirror_tasks), timeout=5)
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        self.flush_metrics()

    async def _flush_loop(self) -> None:
        step = int(self.config.flush_interval_s * 1000)
        while True:
            await self._clock.sleep_until(self._clock.now_ms() + step)
            self.flush_metrics()

    def flush_metrics(self) -> int:
        """Append the current counters to the sink now; the number of samples written."""
        if self._sink is None:
            return 0
        return self.metrics.flush(self._sink, self._clock.now_ms())

    # -- versions and draining ----------------------------------------------------------

    @property
    def table(self) -> RoutingTable:
        return self._handler.table

    def set_canary(self, version: Version | None) -> None:
        """Replace the canary version (None removes it). The old canary is drained: its
        in-flight requests finish, new ones go elsewhere. The canary weight resets to 0."""
        where = f"proxy for service {self.config.service!r}"
        if version is not None:
            _check_version(version, where)
        old = self.table.canary
        pool = self._pool(version) if version is not None else None
        self._swap(canary=pool, canary_weight=0)
        if old is not None:
            old.retire()
            self._retired = [p for p in self._retired if p.in_flight] + [old]

    def set_stable(self, version: Version) -> None:
        """Replace the stable version (a new rollout's stable: often the last one's canary).
        The old stable is drained as a removed canary is; weights and routes are kept."""
        _check_version(version, f"proxy for service {self.config.service!r}")
        old = self.table.stable
        self._swap(stable=self._pool(version))
        old.retire()
        self._retired = [p for p in self._retired if p.in_flight] + [old]

    def _pools(self) -> list[Pool]:
        return [p for p, _ in self.table.weighted()] + list(self._extra.values()) + self._retired

    def in_flight(self, version: str) -> int:
        """Requests being served by ``version`` now (a removed version's included)."""
        return sum(p.in_flight for p in self._pools() if p.name == version)

    async def wait_drained(self, version: str, timeout_s: float | None = None) -> bool:
        """Whether every in-flight request of ``version`` ended within the timeout."""
        limit = self.config.drain_timeout_s if timeout_s is None else timeout_s
        results = [await p.wait_drained(limit) for p in self._pools() if p.name == version]
        return all(results)

    def _swap(self, **changes: object) -> None:
        t = dataclasses.replace(self.table, **changes)  # type: ignore[arg-type]  # fields checked by replace
        self._handler.table = dataclasses.replace(
            t, compiled_headers=compile_header_routes(t.header_routes),
            compiled_mirrors=compile_mirror_routes(t.mirror_routes),
        )

    # -- TrafficRouter ------------------------------------------------------------------

    def supports(self, feature: Feature) -> bool:
        return True

    def set_weight(self, canary_weight: int, additional: tuple[WeightDestination, ...] = ()) -> None:
        where = f"proxy for service {self.config.service!r}: setWeight"
        check_weights(canary_weight, additional, where)
        if self.table.canary is None and canary_weight:
            raise RouterError(f"{where}: no canary version is set, so weight {canary_weight} cannot go to it.")
        extra = []
        for d in additional:
            if d.version not in self._extra:
                raise RouterError(f"{where}: additional destination {d.version!r} is not one of the "
                                  f"configured extra versions {sorted(self._extra)}.")
            extra.append((self._extra[d.version], d.weight))
        self._swap(canary_weight=canary_weight, extra=tuple(extra))

    def set_header_route(self, route: HeaderRoute) -> None:
        where = f"proxy for service {self.config.service!r}: setHeaderRoute {route.name!r}"
        self._swap(header_routes=self._routes().with_header_route(route, where).header_routes)

    def set_mirror_route(self, route: MirrorRoute) -> None:
        where = f"proxy for service {self.config.service!r}: setMirrorRoute {route.name!r}"
        self._swap(mirror_routes=self._routes().with_mirror_route(route, where).mirror_routes)

    def _routes(self) -> Desired:
        return Desired(header_routes=self.table.header_routes, mirror_routes=self.table.mirror_routes)

    def remove_managed_routes(self) -> None:
        self._swap(header_routes=(), mirror_routes=())

    def verify_weight(self, canary_weight: int, additional: tuple[WeightDestination, ...] = ()) -> bool | None:
        """In-process, so exact: whether the live table holds these weights."""
        t = self.table
        have = {p.name: w for p, w in t.extra}
        want = {d.version: d.weight for d in additional if d.weight}
        return t.canary_weight == canary_weight and {k: v for k, v in have.items() if v} == want

    @property
    def mirrors_dropped(self) -> int:
        return self._handler.mirrors_dropped
