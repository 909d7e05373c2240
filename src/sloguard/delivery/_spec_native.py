"""sloguard's own rollout spec (``apiVersion: sloguard/v1``, ``kind: Rollout``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sloguard.delivery._spec_judges import read_judges
from sloguard.delivery._spec_model import (
    BlueGreenStrategy,
    CanaryStrategy,
    ErrorBudgetPolicy,
    KubernetesTarget,
    RolloutSpec,
    RouterSpec,
    VersionTarget,
    freeze,
)
from sloguard.delivery._spec_read import integer, join, known, pause_seconds, split_where
from sloguard.delivery._spec_steps import read_analysis, read_steps
from sloguard.delivery.routers import ROUTERS, RouterError
from sloguard.slo._reader import Reader

API_VERSION = "sloguard/v1"
KIND = "Rollout"
SPEC_KEYS = {"service", "versions", "router", "strategy", "errorBudgetPolicy"}
BLUE_GREEN_KEYS = {"activeService", "previewService", "prePromotionAnalysis", "postPromotionAnalysis",
                   "autoPromotionSeconds", "scaleDownDelaySeconds", "autoPromotionEnabled"}


def load(doc: Mapping[str, Any], r: Reader, source: str) -> RolloutSpec | None:
    mark = r.mark()
    known(r, doc, "", {"apiVersion", "kind", "metadata", "spec"})
    if doc.get("kind") != KIND:
        r.problem("kind", f"must be {KIND}, not {doc.get('kind')!r}")
    meta = r.mapping(doc.get("metadata"), "metadata")
    known(r, meta, "metadata", {"name", "labels", "annotations"})
    name = r.str_(meta, "name", "metadata", required=True)
    spec = r.mapping(doc.get("spec"), "spec")
    if "spec" not in doc:
        r.problem("spec", "is required")
    known(r, spec, "spec", SPEC_KEYS)
    service = r.str_(spec, "service", "spec", required=True)
    versions = r.mapping(spec.get("versions"), "spec.versions")
    known(r, versions, "spec.versions", {"stable", "canary"})
    stable = _version(r, versions.get("stable"), "spec.versions.stable")
    canary = _version(r, versions.get("canary"), "spec.versions.canary")
    for key, v in (("stable", stable), ("canary", canary)):
        if v is None:
            r.problem(f"spec.versions.{key}", "is required: a name and upstreams (host:port) or a kubernetes target")
    if stable and canary and stable.name and stable.name == canary.name:
        r.problem("spec.versions.canary.name", f"is {canary.name!r}, the stable version's name too: versions need distinct names")
    router = _router(r, spec.get("router"), "spec.router", service, stable, canary)
    strategy = _strategy(r, spec.get("strategy"), "spec.strategy", stable, canary)
    policy = _policy(r, spec.get("errorBudgetPolicy"), "spec.errorBudgetPolicy")
    if r.errors_since(mark) or strategy is None:
        return None
    return RolloutSpec(name, service, strategy, stable, canary, router, policy, source=source)


def _version(r: Reader, raw: Any, where: str) -> VersionTarget | None:
    if raw is None:
        return None
    d = r.mapping(raw, where)
    known(r, d, where, {"name", "upstreams", "kubernetes"})
    name = r.str_(d, "name", where, required=True)
    ups = r.list_(d, "upstreams", where)
    for i, u in enumerate(ups):
        if not isinstance(u, str) or ":" not in u:
            r.problem(join(join(where, "upstreams"), i), f"expected a host:port address, got {u!r}")
    k8s = _kubernetes(r, d.get("kubernetes"), join(where, "kubernetes"))
    if not ups and k8s is None:
        r.problem(where, "needs upstreams (host:port addresses) or a kubernetes target")
    return VersionTarget(name, tuple(str(u) for u in ups), k8s)


def _kubernetes(r: Reader, raw: Any, where: str) -> KubernetesTarget | None:
    if raw is None:
        return None
    d = r.mapping(raw, where)
    known(r, d, where, {"service", "port", "namespace"})
    service = r.str_(d, "service", where, required=True)
    port = integer(r, d, "port", where, low=1, high=65535)
    namespace = r.str_(d, "namespace", where) or None
    return KubernetesTarget(service, port, namespace)


def _router(r: Reader, raw: Any, where: str, service: str, stable: VersionTarget | None,
            canary: VersionTarget | None) -> RouterSpec | None:
    if raw is None:
        return None
    d = r.mapping(raw, where)
    kind = r.str_(d, "type", where, required=True)
    known(r, d, where, {"type", kind} if kind else {"type"})
    if kind and kind not in ROUTERS:
        r.problem(join(where, "type"), f"unknown traffic router type {kind!r} (expected one of {', '.join(sorted(ROUTERS))})")
        return None
    if not kind:
        return None
    config = dict(r.mapping(d.get(kind), join(where, kind)))
    for key, value in _defaults(kind, service, stable, canary).items():
        config.setdefault(key, value)
    router = RouterSpec(kind, freeze(config), where)
    try:
        router.build()  # the config's problems now, even when the rest of the rollout has others
    except RouterError as e:
        r.problem(*split_where(str(e), where))
        return None
    return router


def _defaults(kind: str, service: str, stable: VersionTarget | None, canary: VersionTarget | None) -> dict[str, Any]:
    """The router config's keys that the rollout's service and versions already give."""
    out: dict[str, Any] = {"service": service} if kind in ("proxy", "nginx") else {}
    for key, v in (("stable", stable), ("canary", canary)):
        if v is None:
            continue
        k8s = v.kubernetes
        if kind == "proxy" and v.upstreams:
            out[key] = {"name": v.name, "upstreams": list(v.upstreams)}
        elif kind == "nginx" and v.upstreams:
            out[key] = list(v.upstreams)
        elif kind == "gatewayAPI" and k8s is not None and k8s.port is not None:
            out[key] = {"name": k8s.service, "port": k8s.port}
        elif kind == "smi" and k8s is not None:
            out[f"{key}Service"] = k8s.service
    return out


def _strategy(r: Reader, raw: Any, where: str, stable: VersionTarget | None,
              canary: VersionTarget | None) -> CanaryStrategy | BlueGreenStrategy | None:
    d = r.mapping(raw, where)
    known(r, d, where, {"canary", "blueGreen"})
    if len(d) != 1 or not ({"canary", "blueGreen"} & set(d)):
        r.problem(where, "needs exactly one of canary or blueGreen")
        return None
    if "canary" in d:
        return read_canary(r, d["canary"], join(where, "canary"), {"steps", "analysis", "judges", "judgeInterval"})
    return read_blue_green(r, d["blueGreen"], join(where, "blueGreen"), stable, canary)


def read_canary(r: Reader, raw: Any, where: str, allowed: set[str],
                ignored: Mapping[str, str] | None = None) -> CanaryStrategy:
    d = r.mapping(raw, where)
    known(r, d, where, allowed, ignored)
    steps = read_steps(r, r.list_(d, "steps", where), join(where, "steps"))
    background = None
    if d.get("analysis") is not None:
        background = read_analysis(r, d["analysis"], join(where, "analysis"), {"startingStep"})
        if background is not None and background.starting_step > len(steps):
            r.problem(join(join(where, "analysis"), "startingStep"),
                      f"{background.starting_step} is past the last step (there are {len(steps)})")
    judges = read_judges(r, r.list_(d, "judges", where), join(where, "judges"))
    interval = None
    if d.get("judgeInterval") is not None:
        interval = pause_seconds(r, d["judgeInterval"], join(where, "judgeInterval"))
        if interval == 0:
            r.problem(join(where, "judgeInterval"), "must be at least 1s (the time between two looks of the judges)")
    return CanaryStrategy(steps, background, judges, interval or None)


def read_blue_green(r: Reader, raw: Any, where: str, stable: VersionTarget | None, canary: VersionTarget | None,
                    ignored: Mapping[str, str] | None = None, preview_optional: bool = False) -> BlueGreenStrategy:
    d = r.mapping(raw, where)
    known(r, d, where, BLUE_GREEN_KEYS, ignored)
    active = r.str_(d, "activeService", where) or _target(stable)
    preview = r.str_(d, "previewService", where) or _target(canary)
    if not active:
        r.problem(join(where, "activeService"), "is required" + ("" if preview_optional else " (or give spec.versions.stable)"))
    if not preview and not preview_optional:
        r.problem(join(where, "previewService"), "is required (or give spec.versions.canary)")
    pre, post = (read_analysis(r, d[k], join(where, k)) if d.get(k) is not None else None
                 for k in ("prePromotionAnalysis", "postPromotionAnalysis"))
    return BlueGreenStrategy(
        active, preview or None, pre, post, r.bool_(d, "autoPromotionEnabled", where, True),
        integer(r, d, "autoPromotionSeconds", where, low=0),
        _or(integer(r, d, "scaleDownDelaySeconds", where, low=0), 30),
    )


def _target(v: VersionTarget | None) -> str:
    """The version's Kubernetes service, else its name (a blue-green default)."""
    if v is None:
        return ""
    return v.kubernetes.service if v.kubernetes else v.name


def _or(v: int | None, default: int) -> int:
    return default if v is None else v


def _policy(r: Reader, raw: Any, where: str) -> ErrorBudgetPolicy:
    d = r.mapping(raw, where)
    known(r, d, where, {"blockWhenExhausted", "abortOnPage"})
    return ErrorBudgetPolicy(r.bool_(d, "blockWhenExhausted", where, True), r.bool_(d, "abortOnPage", where, True))
