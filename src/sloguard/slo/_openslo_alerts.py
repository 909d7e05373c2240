"""OpenSLO alerting: AlertPolicy, AlertCondition and AlertNotificationTarget documents.

OpenSLO allows one condition per policy, so each burn window of a tier is one AlertPolicy
(annotated ``sloguard.dev/tier``) with one ``burnrate`` AlertCondition: ``threshold`` is
the burn-rate factor, ``lookbackWindow`` the long window, ``alertAfter`` the tier's
``for``; the short window is a twelfth of the long one unless annotated
``sloguard.dev/short-window``. A disabled tier's policies have ``alertWhenBreaching: false``.
The alert name is each policy's ``displayName``; the tier's alert labels and annotations
are the policy's own (the condition's ``severity`` is the ``severity`` label); the labels
and annotations every alert of the SLO carries sit on its AlertNotificationTarget.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sloguard.durations import format_duration_ms
from sloguard.slo._reader import Reader
from sloguard.slo.model import SLO, AlertTier, BurnWindow, Period, workbook_tiers

API_VERSION = "openslo/v1"
TIER = "sloguard.dev/tier"
SHORT_WINDOW = "sloguard.dev/short-window"
PREFIX = "sloguard.dev/"
Refs = Mapping[tuple[str, str], Mapping[str, Any]]


def shorthand(ms: int) -> str:
    """OpenSLO's duration shorthand (one number, one unit: ``28d``, ``6h``, ``5m``) when exact."""
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000)):
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return format_duration_ms(ms)


def default_short_ms(long_ms: int) -> int:
    """The workbook's short window: a twelfth of the long one (1h/5m, 6h/30m, 1d/2h, 3d/6h)."""
    return max(long_ms // 12, 60_000)


def _doc(kind: str, meta: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": meta, "spec": spec}


def _condition(name: str, severity: str, w: BurnWindow, for_ms: int) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if w.short_ms != default_short_ms(w.long_ms):
        meta["annotations"] = {SHORT_WINDOW: shorthand(w.short_ms)}
    cond: dict[str, Any] = {"kind": "burnrate", "op": "gt", "threshold": w.factor, "lookbackWindow": shorthand(w.long_ms)}
    if for_ms:
        cond["alertAfter"] = shorthand(for_ms)
    text = f"Burn rate above {w.factor:g}x over {shorthand(w.long_ms)} and {shorthand(w.short_ms)}."
    return _doc("AlertCondition", meta, {"description": text, "severity": severity, "condition": cond})


def _policy(slo: SLO, tier: AlertTier, name: str, conditions: list[str], target: str) -> dict[str, Any]:
    labels = dict(tier.labels)
    labels.pop("severity", None)
    meta: dict[str, Any] = {"name": name}
    if slo.alerting.name:
        meta["displayName"] = slo.alerting.name
    if labels:
        meta["labels"] = labels
    meta["annotations"] = {TIER: tier.name, **dict(tier.annotations)}
    return _doc("AlertPolicy", meta, {
        "description": f"The {tier.name} tier of SLO {slo.name}.",
        "alertWhenBreaching": tier.enabled,
        "alertWhenResolved": False,
        "alertWhenNoData": slo.alerting.no_data_for_ms is not None,
        "conditions": [{"conditionRef": c} for c in conditions],
        "notificationTargets": [{"targetRef": target}],
    })


def _target(slo: SLO, name: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if slo.alerting.labels:
        meta["labels"] = dict(slo.alerting.labels)
    if slo.alerting.annotations:
        meta["annotations"] = dict(slo.alerting.annotations)
    text = f"Prometheus Alertmanager: every alert of SLO {slo.name} carries these labels and annotations."
    return _doc("AlertNotificationTarget", meta, {"target": "alertmanager", "description": text})


def documents(slo: SLO) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """The alert documents of an SLO and its ``alertPolicies`` references."""
    target = f"{slo.name}-alerts"
    docs, refs = [_target(slo, target)], []
    for tier in slo.alerting.tiers:
        severity = dict(tier.labels).get("severity", tier.name)
        names = [f"{slo.name}-{tier.name}-{i + 1}" for i in range(len(tier.windows))] or [f"{slo.name}-{tier.name}"]
        for i, name in enumerate(names):
            conds = [name] if tier.windows else []
            docs.append(_policy(slo, tier, name, conds, target))
            if conds:
                docs.append(_condition(name, severity, tier.windows[i], tier.for_ms))
            refs.append({"alertPolicyRef": name})
    return docs, refs


@dataclass(slots=True)
class _Tier:
    name: str
    windows: list[tuple[BurnWindow, bool]] = field(default_factory=list)
    enabled: bool = False
    for_ms: int = 0
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)

    def build(self) -> AlertTier:
        ws = tuple(w for w, on in self.windows if on or not self.enabled)
        return AlertTier(self.name, ws, enabled=self.enabled, for_ms=self.for_ms,
                         labels=tuple(self.labels.items()), annotations=tuple(self.annotations.items()))


@dataclass(frozen=True, slots=True)
class AlertDocs:
    """What an SLO's alert policies say (``tiers`` empty when it has none)."""

    tiers: tuple[AlertTier, ...]
    name: str
    labels: tuple[tuple[str, str], ...]
    annotations: tuple[tuple[str, str], ...]
    no_data: bool


def _resolve(r: Reader, v: Any, key: str, kind: str, refs: Refs, path: str) -> Mapping[str, Any] | None:
    m = r.mapping(v, path)
    if key in m and "spec" not in m:
        found = refs.get((kind, str(m[key])))
        if found is None:
            r.problem(f"{path}.{key}", f"no {kind} document named {m[key]!r}")
        return found
    return m


def _own(r: Reader, meta: Mapping[str, Any], path: str) -> tuple[tuple[str, str], ...]:
    """Annotations that are not sloguard's own settings."""
    return tuple((k, v) for k, v in r.labels(meta, "annotations", path) if not k.startswith(PREFIX))


def _read_condition(r: Reader, cm: Mapping[str, Any], path: str, tier: _Tier, on: bool) -> None:
    cs = r.mapping(cm.get("spec"), f"{path}.spec")
    cp = f"{path}.spec.condition"
    cond = r.mapping(cs.get("condition"), cp)
    kind, op = str(cond.get("kind", "burnrate")), str(cond.get("op", "gt"))
    if kind != "burnrate":
        r.problem(f"{cp}.kind", f"unsupported alert condition kind {kind!r} (only burnrate)")
    if op not in ("gt", "gte"):
        r.problem(f"{cp}.op", f"a burn-rate alert fires when the burn rate is above its threshold: expected gt or gte, got {op!r}")
    look = r.duration(cond, "lookbackWindow", cp, required=True)
    thr = r.float_(cond, "threshold", cp, required=True)
    tier.for_ms = max(tier.for_ms, r.duration(cond, "alertAfter", cp) or 0)
    meta = r.mapping(cm.get("metadata"), f"{path}.metadata")
    short = r.duration(r.mapping(meta.get("annotations"), f"{path}.metadata.annotations"), SHORT_WINDOW, f"{path}.metadata.annotations")
    if look and thr:
        tier.windows.append((BurnWindow(look, short or default_short_ms(look), thr), on))
    if cs.get("severity") and "severity" not in tier.labels:
        tier.labels = {"severity": str(cs["severity"]), **tier.labels}


def _read_policy(r: Reader, pm: Mapping[str, Any], pp: str, refs: Refs, tiers: dict[str, _Tier]) -> Mapping[str, Any]:
    meta = r.mapping(pm.get("metadata"), f"{pp}.metadata")
    anns = r.mapping(meta.get("annotations"), f"{pp}.metadata.annotations")
    name = str(anns.get(TIER) or meta.get("name") or f"policy{len(tiers)}")
    tier = tiers.setdefault(name, _Tier(name))
    spec = r.mapping(pm.get("spec"), f"{pp}.spec")
    on = r.bool_(spec, "alertWhenBreaching", f"{pp}.spec", default=True)
    tier.enabled = tier.enabled or on
    tier.labels.update(r.labels(meta, "labels", f"{pp}.metadata"))
    tier.annotations.update(_own(r, meta, f"{pp}.metadata"))
    for j, c in enumerate(r.list_(spec, "conditions", f"{pp}.spec")):
        cm = _resolve(r, c, "conditionRef", "AlertCondition", refs, f"{pp}.spec.conditions[{j}]")
        if cm is not None:
            _read_condition(r, cm, f"{pp}.spec.conditions[{j}]", tier, on)
    return spec


def _read_targets(r: Reader, spec: Mapping[str, Any], refs: Refs, pp: str, labels: dict[str, str], annotations: dict[str, str]) -> None:
    """The labels and annotations of a policy's notification targets (an unknown ``targetRef``
    is a target outside the file: it carries none)."""
    for j, t in enumerate(r.list_(spec, "notificationTargets", f"{pp}.spec")):
        tp = f"{pp}.spec.notificationTargets[{j}]"
        tm = r.mapping(t, tp)
        target = refs.get(("AlertNotificationTarget", str(tm.get("targetRef")))) if "targetRef" in tm else tm
        meta = r.mapping((target or {}).get("metadata"), f"{tp}.metadata")
        labels.update(r.labels(meta, "labels", f"{tp}.metadata"))
        annotations.update(_own(r, meta, f"{tp}.metadata"))


def read(r: Reader, policies: list[Any], refs: Refs, path: str, slo_name: str) -> AlertDocs:
    tiers: dict[str, _Tier] = {}
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    name, no_data = "", False
    for i, pol in enumerate(policies):
        pp = f"{path}[{i}]"
        pm = _resolve(r, pol, "alertPolicyRef", "AlertPolicy", refs, pp)
        if pm is None:
            continue
        spec = _read_policy(r, pm, pp, refs, tiers)
        name = name or str(r.mapping(pm.get("metadata"), pp).get("displayName") or "")
        no_data = no_data or spec.get("alertWhenNoData") is True
        _read_targets(r, spec, refs, pp, labels, annotations)
    return AlertDocs(tuple(t.build() for t in tiers.values()), name or slo_name,
                     tuple(labels.items()), tuple(annotations.items()), no_data)


def tiers_or_default(docs: AlertDocs, period: Period) -> tuple[AlertTier, ...]:
    """The policies' tiers, or the workbook's when the SLO has no alert policy."""
    return docs.tiers or workbook_tiers(period.nominal_ms)
