"""The router registry and validation-time feature checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from sloguard.delivery.routers import (
    ROUTERS,
    Feature,
    HeaderRoute,
    MirrorRoute,
    RouteMatch,
    RouterError,
    features_of,
    new_router,
    require,
    router_from_mapping,
)
from sloguard.delivery.routers.gateway_api import BackendRef, GatewayAPIConfig, GatewayAPIRouter
from sloguard.delivery.routers.nginx import NginxConfig, NginxRouter
from sloguard.delivery.routers.proxy import ProxyConfig, ProxyRouter, Version
from sloguard.delivery.routers.smi import SMIConfig


def configs(tmp: Path) -> dict[str, object]:
    return {
        "proxy": ProxyConfig("s", Version("v1", ("127.0.0.1:1",))),
        "nginx": NginxConfig("s", tmp, ("127.0.0.1:1",), ("127.0.0.1:2",)),
        "gatewayAPI": GatewayAPIConfig(tmp / "r.yaml", "r", "ns", ("gw",), BackendRef("a", 80), BackendRef("b", 80)),
        "smi": SMIConfig(tmp / "s.yaml", "s", "ns", "root", "a", "b"),
    }


def test_every_router_is_registered_by_its_type(tmp_path: Path) -> None:
    built = {name: new_router(name, cfg) for name, cfg in configs(tmp_path).items()}
    assert set(ROUTERS) == set(built)
    assert all(name == r.TYPE for name, r in built.items())


def test_unknown_type_or_wrong_config_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RouterError, match="unknown traffic router type 'istio'"):
        new_router("istio", object())
    with pytest.raises(RouterError, match="takes a SMIConfig, not ProxyConfig"):
        new_router("smi", configs(tmp_path)["proxy"])


def test_a_router_lacking_a_feature_is_refused_at_validation(tmp_path: Path) -> None:
    routers = {name: new_router(name, cfg) for name, cfg in configs(tmp_path).items()}
    mirror = features_of(MirrorRoute("m", (RouteMatch("session", "x", cookie=True),)))
    assert mirror == {Feature.MIRROR, Feature.COOKIE_ROUTE}
    with pytest.raises(RouterError) as e:
        require(routers["smi"], mirror, "rollout 'checkout' step 3")
    assert str(e.value) == ("rollout 'checkout' step 3: the 'smi' traffic router does not support "
                            "cookie match in setHeaderRoute, setMirrorRoute.")
    assert not e.value.retryable
    with pytest.raises(RouterError, match="'gatewayAPI' traffic router does not support cookie"):
        require(routers["gatewayAPI"], mirror, "rollout 'checkout'")
    require(routers["nginx"], mirror, "rollout 'checkout'")
    require(routers["proxy"], {*mirror, Feature.STICKY}, "rollout 'checkout'")
    with pytest.raises(RouterError, match="sticky"):
        require(routers["nginx"], {Feature.STICKY}, "rollout 'checkout'")
    assert features_of(HeaderRoute("h", (RouteMatch("x", "y"),))) == {Feature.HEADER_ROUTE}


def test_routers_are_built_from_spec_mappings(tmp_path: Path) -> None:
    proxy = router_from_mapping("proxy", {
        "service": "checkout", "stable": {"name": "v1", "upstreams": ["127.0.0.1:9001"]},
        "canary": {"name": "v2", "upstreams": ["127.0.0.1:9002"]}, "stickyCookie": "sg",
        "buckets": [0.1, 1], "limits": {"upstreamTimeoutS": 5}, "extra": [{"name": "base", "upstreams": []}],
    }, "rollout.trafficRouting")
    assert isinstance(proxy, ProxyRouter)
    c = proxy.config
    assert (c.canary, c.sticky_cookie, c.buckets, c.limits.upstream_timeout_s) == (
        Version("v2", ("127.0.0.1:9002",)), "sg", (0.1, 1.0), 5.0)
    nginx = router_from_mapping("nginx", {"service": "s", "prefix": str(tmp_path), "stable": ["127.0.0.1:1"],
                                          "canary": ["127.0.0.1:2"], "extra": {"baseline": ["127.0.0.1:3"]}}, "r")
    assert isinstance(nginx, NginxRouter) and nginx.config.extra == (("baseline", ("127.0.0.1:3",)),)
    gw = router_from_mapping("gatewayAPI", {"path": str(tmp_path / "r.yaml"), "name": "r", "namespace": "ns",
                                            "parentRefs": ["gw"], "stable": {"name": "a", "port": 80},
                                            "canary": {"name": "b", "port": 80}}, "r")
    assert isinstance(gw, GatewayAPIRouter) and gw.config.canary == BackendRef("b", 80)


@pytest.mark.parametrize(("type_name", "data", "message"), [
    ("proxy", {"service": "s"}, "rollout.trafficRouting.proxy: missing required key 'stable'."),
    ("proxy", {"service": "s", "stable": {"name": "v1", "upstreams": "127.0.0.1:1"}},
     "rollout.trafficRouting.proxy.stable.upstreams: expected a list, got '127.0.0.1:1'."),
    ("proxy", {"service": "s", "stable": {"name": "v1", "upstreams": []}, "stickycookie": "x"},
     "rollout.trafficRouting.proxy: unknown key 'stickycookie'; known keys: service, stable, canary,"),
    ("proxy", {"service": "s", "stable": {"name": "v1", "upstreams": ["nohost"]}},
     "upstream 'nohost' of version 'v1' is not host:port."),
    ("smi", {"path": 3}, "rollout.trafficRouting.smi.path: expected a path, got 3."),
    ("nginx", [], "rollout.trafficRouting.nginx: expected a mapping, got []."),
    ("istio", {}, "rollout.trafficRouting: unknown traffic router type 'istio'"),
])
def test_bad_router_mappings_name_the_key_path(type_name: str, data: object, message: str) -> None:
    with pytest.raises(RouterError) as e:
        router_from_mapping(type_name, data, "rollout.trafficRouting")
    assert message in str(e.value)
