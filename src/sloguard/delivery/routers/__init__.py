"""Traffic routers: one small interface, one module per router (STYLE items 2 and 6).

A router moves a service's traffic between its stable and canary versions:
``set_weight`` (percent to the canary, optional extra destinations such as a baseline),
``set_header_route`` (matching requests always to the canary), ``set_mirror_route`` (a
copy of matching requests to the canary, the copy's response dropped),
``remove_managed_routes`` and ``verify_weight`` (``None``: the router cannot tell).
A router lacking a feature says so through ``supports``, so a rollout asking for it is
refused when it is validated (``require``), not at the step that needs it.

Routers: ``proxy`` (the built-in asyncio reverse proxy, the embedded default),
``nginx`` (rendered config, ``nginx -t``, hot reload), ``gatewayAPI`` (``HTTPRoute``
files) and ``smi`` (``TrafficSplit`` files). Each takes only its config dataclass;
``new_router(type, config)`` builds one from the registry ``ROUTERS``, and
``router_from_mapping(type, mapping, where)`` from a spec file's mapping.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar, Protocol

from sloguard.delivery.routers._mapping import from_mapping
from sloguard.delivery.routers._types import (
    Feature,
    HeaderRoute,
    MatchKind,
    MirrorRoute,
    RouteMatch,
    RouterError,
    WeightDestination,
)


class TrafficRouter(Protocol):
    """Moves traffic between a service's versions. Calls are synchronous and quick (the
    nginx router runs ``nginx -t`` and a reload, bounded by timeouts): an asyncio caller
    may run them with ``asyncio.to_thread``. Failures raise ``RouterError``."""

    TYPE: ClassVar[str]

    def supports(self, feature: Feature) -> bool: ...

    def set_weight(self, canary_weight: int, additional: tuple[WeightDestination, ...] = ()) -> None: ...

    def set_header_route(self, route: HeaderRoute) -> None: ...

    def set_mirror_route(self, route: MirrorRoute) -> None: ...

    def remove_managed_routes(self) -> None: ...

    def verify_weight(self, canary_weight: int, additional: tuple[WeightDestination, ...] = ()) -> bool | None: ...


def features_of(route: HeaderRoute | MirrorRoute) -> set[Feature]:
    """The features a header or mirror route needs from a router."""
    needed = {Feature.MIRROR} if isinstance(route, MirrorRoute) else {Feature.HEADER_ROUTE}
    if any(m.cookie for m in route.matches):
        needed.add(Feature.COOKIE_ROUTE)
    return needed


def require(router: TrafficRouter, features: Iterable[Feature], where: str) -> None:
    """RouterError naming every feature in ``features`` the router cannot do (validation time)."""
    missing = sorted({f for f in features if not router.supports(f)}, key=lambda f: f.value)
    if missing:
        names = ", ".join(f.value for f in missing)
        raise RouterError(f"{where}: the {router.TYPE!r} traffic router does not support {names}.")


def _registry() -> dict[str, tuple[type[Any], type[Any]]]:
    from sloguard.delivery.routers.gateway_api import GatewayAPIConfig, GatewayAPIRouter
    from sloguard.delivery.routers.nginx import NginxConfig, NginxRouter
    from sloguard.delivery.routers.proxy import ProxyConfig, ProxyRouter
    from sloguard.delivery.routers.smi import SMIConfig, SMIRouter

    return {
        r.TYPE: (c, r)
        for c, r in (
            (ProxyConfig, ProxyRouter),
            (NginxConfig, NginxRouter),
            (GatewayAPIConfig, GatewayAPIRouter),
            (SMIConfig, SMIRouter),
        )
    }


ROUTERS: dict[str, tuple[type[Any], type[Any]]] = _registry()
"""Router TYPE -> (config class, router class)."""


def new_router(type_name: str, config: object) -> TrafficRouter:
    """The router registered as ``type_name``, built from its config; RouterError for an
    unknown type or a config of the wrong class."""
    if type_name not in ROUTERS:
        raise RouterError(f"unknown traffic router type {type_name!r}; known: {', '.join(sorted(ROUTERS))}.")
    config_cls, router_cls = ROUTERS[type_name]
    if not isinstance(config, config_cls):
        raise RouterError(f"traffic router {type_name!r} takes a {config_cls.__name__}, not {type(config).__name__}.")
    router: TrafficRouter = router_cls(config)
    return router


def router_from_mapping(type_name: str, data: object, where: str) -> TrafficRouter:
    """A router built from a spec's mapping for it (camelCase keys for the config's
    fields, e.g. ``{"service": "checkout", "stable": {"name": "v1", "upstreams":
    ["127.0.0.1:9001"]}, "stickyCookie": "sg"}`` for ``proxy``); RouterError naming the
    key path ``where.<type>.<key>`` of the first problem."""
    if type_name not in ROUTERS:
        raise RouterError(f"{where}: unknown traffic router type {type_name!r}; known: {', '.join(sorted(ROUTERS))}.")
    config = from_mapping(ROUTERS[type_name][0], data, f"{where}.{type_name}")
    return new_router(type_name, config)


__all__ = [
    "ROUTERS",
    "Feature",
    "HeaderRoute",
    "MatchKind",
    "MirrorRoute",
    "RouteMatch",
    "RouterError",
    "TrafficRouter",
    "WeightDestination",
    "features_of",
    "new_router",
    "require",
    "router_from_mapping",
]
