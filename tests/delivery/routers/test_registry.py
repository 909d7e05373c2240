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
)
from sloguard.delivery.routers.gateway_api import BackendRef, GatewayAPIConfig
from sloguard.delivery.routers.nginx import NginxConfig
from sloguard.delivery.routers.proxy import ProxyConfig, Version
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
