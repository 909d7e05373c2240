"""Gateway API HTTPRoute and SMI TrafficSplit files, validated against the projects'
published CRD schemas (vendored under schemas/, see schemas/README.md)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from sloguard.delivery.routers import (
    Feature,
    HeaderRoute,
    MatchKind,
    MirrorRoute,
    RouteMatch,
    RouterError,
    WeightDestination,
)
from sloguard.delivery.routers.gateway_api import BackendRef, GatewayAPIConfig, GatewayAPIRouter
from sloguard.delivery.routers.smi import SMIConfig, SMIRouter
from tests.delivery.routers._openapi import load, validate

HTTPROUTE = load("httproute-v1.yaml")
TRAFFICSPLIT = load("trafficsplit-v1alpha4.yaml")


def gateway(tmp_path: Path) -> GatewayAPIRouter:
    return GatewayAPIRouter(GatewayAPIConfig(
        tmp_path / "route.yaml", "checkout", "shop", ("public-gw",), BackendRef("checkout-stable", 8080),
        BackendRef("checkout-canary", 8080), hostnames=("shop.example.com",),
        extra=(("baseline", BackendRef("checkout-baseline", 8080)),),
    ))


def smi(tmp_path: Path) -> SMIRouter:
    return SMIRouter(SMIConfig(tmp_path / "split.yaml", "checkout", "shop", "checkout", "checkout-stable",
                               "checkout-canary", extra=(("baseline", "checkout-baseline"),)))


def written(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(path.read_text())
    return doc


def weights(rule: dict[str, Any]) -> dict[str, int]:
    return {b["name"]: b.get("weight", 1) for b in rule["backendRefs"]}


def test_httproute_weights_validate_against_the_crd_schema(tmp_path: Path) -> None:
    r = gateway(tmp_path)
    for w in (0, 10, 50, 100):
        r.set_weight(w)
        doc = written(tmp_path / "route.yaml")
        assert validate(doc, HTTPROUTE) == []
        assert doc["apiVersion"] == "gateway.networking.k8s.io/v1" and doc["kind"] == "HTTPRoute"
        assert weights(doc["spec"]["rules"][-1]) == {"checkout-stable": 100 - w, "checkout-canary": w}
    r.set_weight(10, (WeightDestination("baseline", 10),))
    doc = written(tmp_path / "route.yaml")
    assert validate(doc, HTTPROUTE) == []
    assert weights(doc["spec"]["rules"][-1]) == {"checkout-stable": 80, "checkout-canary": 10, "checkout-baseline": 10}


def test_httproute_header_and_mirror_routes_validate(tmp_path: Path) -> None:
    r = gateway(tmp_path)
    r.set_weight(20)
    r.set_header_route(HeaderRoute("beta", (RouteMatch("x-user-type", "beta-tester"),
                                            RouteMatch("x-region", "eu.", MatchKind.PREFIX))))
    r.set_mirror_route(MirrorRoute("shadow", (), 25))
    doc = written(tmp_path / "route.yaml")
    assert validate(doc, HTTPROUTE) == []
    beta, shadow, default = doc["spec"]["rules"]
    assert beta["matches"][0]["headers"] == [
        {"type": "Exact", "name": "x-user-type", "value": "beta-tester"},
        {"type": "RegularExpression", "name": "x-region", "value": r"^eu\."},
    ]
    assert weights(beta) == {"checkout-canary": 1}
    assert shadow["filters"] == [{"type": "RequestMirror", "requestMirror": {
        "backendRef": {"name": "checkout-canary", "port": 8080}, "percent": 25}}]
    assert weights(shadow) == weights(default) == {"checkout-stable": 80, "checkout-canary": 20}
    r.remove_managed_routes()
    assert len(written(tmp_path / "route.yaml")["spec"]["rules"]) == 1
    assert r.verify_weight(20) is None


def test_the_schema_check_catches_broken_manifests(tmp_path: Path) -> None:
    r = gateway(tmp_path)
    r.set_weight(30)
    good = written(tmp_path / "route.yaml")
    mutations: list[tuple[Callable[[dict[str, Any]], None], str]] = [
        (lambda d: d["spec"]["rules"][0]["backendRefs"][0].update(weight=-1), "weight"),
        (lambda d: d["spec"]["rules"][0]["backendRefs"][0].update(port=70000), "port"),
        (lambda d: d["spec"]["rules"][0].update(bogus=1), "bogus"),
        (lambda d: d["spec"]["rules"][0]["matches"][0]["path"].update(type="Nope"), "type"),
        (lambda d: d["spec"].update(rules=[d["spec"]["rules"][0]] * 17), "rules"),
    ]
    for mutate, needle in mutations:
        bad = copy.deepcopy(good)
        mutate(bad)
        errors = validate(bad, HTTPROUTE)
        assert errors and any(needle in e for e in errors), errors


def test_trafficsplit_validates_against_the_crd_schema(tmp_path: Path) -> None:
    r = smi(tmp_path)
    r.set_weight(25, (WeightDestination("baseline", 25),))
    doc = written(tmp_path / "split.yaml")
    assert validate(doc, TRAFFICSPLIT) == []
    assert doc["apiVersion"] == "split.smi-spec.io/v1alpha4"
    assert doc["spec"] == {"service": "checkout", "backends": [
        {"service": "checkout-stable", "weight": 50}, {"service": "checkout-canary", "weight": 25},
        {"service": "checkout-baseline", "weight": 25}]}
    bad = copy.deepcopy(doc)
    del bad["spec"]["backends"][0]["weight"]
    assert validate(bad, TRAFFICSPLIT) == [".spec.backends[0]: missing required field 'weight'"]


def test_smi_cannot_route_by_header_or_mirror(tmp_path: Path) -> None:
    r = smi(tmp_path)
    assert r.supports(Feature.WEIGHT) and not r.supports(Feature.HEADER_ROUTE) and not r.supports(Feature.MIRROR)
    with pytest.raises(RouterError, match="cannot route by header"):
        r.set_header_route(HeaderRoute("beta", (RouteMatch("x", "y"),)))
    with pytest.raises(RouterError, match="cannot mirror"):
        r.set_mirror_route(MirrorRoute("m"))
    r.remove_managed_routes()  # an explicit no-op
    assert not (tmp_path / "split.yaml").exists()


def test_gateway_api_refuses_cookie_matches_and_unknown_destinations(tmp_path: Path) -> None:
    r = gateway(tmp_path)
    assert r.supports(Feature.MIRROR) and not r.supports(Feature.COOKIE_ROUTE)
    with pytest.raises(RouterError, match="cookie"):
        r.set_header_route(HeaderRoute("c", (RouteMatch("k", "v", cookie=True),)))
    with pytest.raises(RouterError, match="'nope'"):
        r.set_weight(10, (WeightDestination("nope", 5),))
    with pytest.raises(RouterError, match="sum above 100"):
        r.set_weight(90, (WeightDestination("baseline", 20),))
    assert not (tmp_path / "route.yaml").exists()  # nothing written for refused changes


def test_too_many_routes_for_an_httproute_are_refused(tmp_path: Path) -> None:
    r = gateway(tmp_path)
    for i in range(15):
        r.set_header_route(HeaderRoute(f"r{i}", (RouteMatch("x-n", str(i)),)))
    with pytest.raises(RouterError, match="limit of 16"):
        r.set_header_route(HeaderRoute("r15", (RouteMatch("x-n", "15"),)))
    assert validate(written(tmp_path / "route.yaml"), HTTPROUTE) == []
