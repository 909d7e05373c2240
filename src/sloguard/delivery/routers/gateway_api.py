"""A traffic router that writes a Gateway API ``HTTPRoute`` (gateway.networking.k8s.io/v1)
as a file for the user's GitOps: backendRef weights for the split, one rule per header
route (matching requests to the canary) and a ``RequestMirror`` filter for mirroring.

Gateway API header matches are Exact or RegularExpression: a prefix match is written as
the regex ``^<escaped prefix>``. Cookie matches and sticky sessions are not in the
standard channel, so ``supports`` says no. Whether the cluster applied the file cannot be
told from here: ``verify_weight`` returns None.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import yaml

from sloguard.delivery.routers._files import write_atomic
from sloguard.delivery.routers._types import (
    Desired,
    Feature,
    HeaderRoute,
    MatchKind,
    MirrorRoute,
    RouteMatch,
    RouterError,
    WeightDestination,
)

API_VERSION = "gateway.networking.k8s.io/v1"
_SUPPORTED = frozenset({Feature.WEIGHT, Feature.HEADER_ROUTE, Feature.MIRROR, Feature.ADDITIONAL_DESTINATIONS})
_MAX_RULES = 16  # the CRD's maxItems for spec.rules


@dataclass(frozen=True, slots=True)
class BackendRef:
    """A Kubernetes Service and port one version runs behind."""

    name: str
    port: int


@dataclass(frozen=True, slots=True)
class GatewayAPIConfig:
    """Writes ``HTTPRoute`` ``name`` in ``namespace`` to ``path``, attached to the Gateways
    ``parent_refs``, for requests to ``hostnames`` under ``path_prefix``. ``extra`` names
    the backends of additional destinations (a baseline) by version name."""

    path: Path
    name: str
    namespace: str
    parent_refs: tuple[str, ...]
    stable: BackendRef
    canary: BackendRef
    hostnames: tuple[str, ...] = ()
    path_prefix: str = "/"
    extra: tuple[tuple[str, BackendRef], ...] = ()


def _ref(b: BackendRef, weight: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"name": b.name, "port": b.port}
    if weight is not None:
        out["weight"] = weight
    return out


def _header_match(m: RouteMatch) -> dict[str, Any]:
    if m.kind is MatchKind.EXACT:
        return {"type": "Exact", "name": m.name, "value": m.value}
    value = m.value if m.kind is MatchKind.REGEX else "^" + re.escape(m.value)
    return {"type": "RegularExpression", "name": m.name, "value": value}


def render_httproute(c: GatewayAPIConfig, d: Desired) -> dict[str, Any]:
    """The HTTPRoute for config ``c`` and what the router was asked ``d`` (pure)."""
    extra = dict(c.extra)
    weighted = [_ref(c.stable, d.stable_weight), _ref(c.canary, d.canary_weight)]
    weighted += [_ref(extra[x.version], x.weight) for x in d.additional]
    path = {"path": {"type": "PathPrefix", "value": c.path_prefix}}
    rules: list[dict[str, Any]] = [
        {"matches": [{**path, "headers": [_header_match(m) for m in r.matches]}], "backendRefs": [_ref(c.canary)]}
        for r in d.header_routes
    ]
    for mr in d.mirror_routes:
        match = {**path, **({"headers": [_header_match(m) for m in mr.matches]} if mr.matches else {})}
        mirror = {"backendRef": _ref(c.canary), "percent": mr.percentage}
        rules.append({"matches": [match], "filters": [{"type": "RequestMirror", "requestMirror": mirror}],
                      "backendRefs": weighted})
    rules.append({"matches": [path], "backendRefs": weighted})
    spec: dict[str, Any] = {"parentRefs": [{"name": p} for p in c.parent_refs]}
    if c.hostnames:
        spec["hostnames"] = list(c.hostnames)
    spec["rules"] = rules
    meta = {"name": c.name, "namespace": c.namespace, "labels": {"app.kubernetes.io/managed-by": "sloguard"}}
    return {"apiVersion": API_VERSION, "kind": "HTTPRoute", "metadata": meta, "spec": spec}


class GatewayAPIRouter:
    """``TrafficRouter`` writing an HTTPRoute file; each change rewrites it atomically."""

    TYPE: ClassVar[str] = "gatewayAPI"

    def __init__(self, config: GatewayAPIConfig) -> None:
        if not config.parent_refs:
            raise RouterError(f"gatewayAPI router for HTTPRoute {config.name!r}: parent_refs is empty; "
                              "name at least one Gateway.")
        self.config = config
        self._desired = Desired()
        self._where = f"gatewayAPI router for HTTPRoute {config.namespace}/{config.name}"

    @property
    def desired(self) -> Desired:
        return self._desired

    def supports(self, feature: Feature) -> bool:
        return feature in _SUPPORTED

    def set_weight(self, canary_weight: int, additional: tuple[WeightDestination, ...] = ()) -> None:
        for x in additional:
            if x.version not in dict(self.config.extra):
                raise RouterError(f"{self._where}: additional destination {x.version!r} has no backend in the config's extra.")
        self._apply(self._desired.with_weight(canary_weight, additional, self._where))

    def set_header_route(self, route: HeaderRoute) -> None:
        if route.uses_cookies:
            raise RouterError(f"{self._where}: header route {route.name!r} matches a cookie; "
                              "Gateway API HTTPRoute matches headers only.")
        self._apply(self._desired.with_header_route(route, self._where))

    def set_mirror_route(self, route: MirrorRoute) -> None:
        if any(m.cookie for m in route.matches):
            raise RouterError(f"{self._where}: mirror route {route.name!r} matches a cookie; "
                              "Gateway API HTTPRoute matches headers only.")
        self._apply(self._desired.with_mirror_route(route, self._where))

    def remove_managed_routes(self) -> None:
        self._apply(self._desired.without_routes())

    def verify_weight(self, canary_weight: int, additional: tuple[WeightDestination, ...] = ()) -> bool | None:
        return None  # the file is written; whether the cluster applied it is not visible here

    def _apply(self, d: Desired) -> None:
        n = len(d.header_routes) + len(d.mirror_routes) + 1
        if n > _MAX_RULES:
            raise RouterError(f"{self._where}: {n} rules would exceed the HTTPRoute limit of {_MAX_RULES}.")
        text = yaml.safe_dump(render_httproute(self.config, d), sort_keys=False)
        write_atomic(self.config.path, text, self._where)
        self._desired = d
