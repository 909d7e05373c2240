"""The in-process proxies a ``RolloutService`` owns: one ``ProxyRouter`` per (service,
host, port), started on first use with the TSDB sink for its RED metrics. A later rollout
of the same service reuses the running proxy: its stable and then its canary are pointed at
the new spec's versions (stable first, so traffic never falls back to an older stable).
Other routers (nginx, manifest files) are built afresh for each rollout."""

from __future__ import annotations

from sloguard.clock import Clock
from sloguard.delivery._spec_model import RolloutSpec
from sloguard.delivery.routers import RouterError, TrafficRouter
from sloguard.delivery.routers._proxy_pool import Pool
from sloguard.delivery.routers.proxy import MetricSink, ProxyConfig, ProxyRouter, Version

ProxyKey = tuple[str, str, int]


def proxy_key(config: ProxyConfig) -> ProxyKey:
    return config.service, config.host, config.port


def _same(pool: Pool | None, version: Version | None) -> bool:
    if pool is None or version is None:
        return pool is None and version is None
    return pool.name == version.name and tuple(u.address for u in pool.upstreams) == version.upstreams


class ProxyHub:
    """Running in-process proxies by (service, host, port); see the module doc."""

    def __init__(self, sink: MetricSink | None, clock: Clock) -> None:
        self._sink, self._clock = sink, clock
        self._proxies: dict[ProxyKey, ProxyRouter] = {}

    def built(self, spec: RolloutSpec) -> TrafficRouter:
        """The spec's router as configured (not started); RouterError if it names none."""
        if spec.router is None:
            raise RouterError(f"The rollout {spec.name!r} ({spec.source}) names no traffic router (spec.router); "
                              "a served rollout needs one, e.g. `router: {type: proxy, proxy: {port: 8080}}`.")
        return spec.router.build()

    def key_of(self, spec: RolloutSpec) -> ProxyKey | None:
        """The key of the in-process proxy the spec uses, or None for another router."""
        router = self.built(spec)
        return proxy_key(router.config) if isinstance(router, ProxyRouter) else None

    async def router_for(self, spec: RolloutSpec) -> TrafficRouter:
        """The router of ``spec``: a running proxy (started, or reused and pointed at the
        spec's versions) or the spec's other router."""
        router = self.built(spec)
        if not isinstance(router, ProxyRouter):
            return router
        key = proxy_key(router.config)
        running = self._proxies.get(key)
        if running is None:
            await router.start(self._sink, self._clock)
            self._proxies[key] = router
            return router
        self._retarget(running, router.config)
        return running

    @staticmethod
    def _retarget(proxy: ProxyRouter, config: ProxyConfig) -> None:
        if not _same(proxy.table.stable, config.stable):
            proxy.set_stable(config.stable)
        if not _same(proxy.table.canary, config.canary):
            proxy.set_canary(config.canary)

    def port(self, service: str) -> int | None:
        """The listening port of the (last started) in-process proxy of ``service``."""
        found = [p for (svc, _, _), p in self._proxies.items() if svc == service]
        return found[-1].port if found else None

    def port_of(self, key: ProxyKey | None) -> int | None:
        proxy = self._proxies.get(key) if key is not None else None
        return proxy.port if proxy is not None else None

    async def close(self) -> None:
        """Stop every proxy (in-flight requests finish; metrics are flushed)."""
        proxies, self._proxies = list(self._proxies.values()), {}
        for p in proxies:
            await p.stop()
