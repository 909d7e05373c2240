"""Pyrra's ``ServiceLevelObjective`` (``apiVersion: pyrra.dev/v1alpha1``).

One Kubernetes-style document per SLO: ``metadata.name`` is the SLO name, ``spec.target`` a
percent written as a string (``"99.5"``), ``spec.window`` a rolling window (``4w``), and one
indicator: ``ratio`` (``errors`` / ``total`` counters), ``latency`` (``success`` histogram
bucket with an ``le`` matcher / ``total`` count) or ``bool_gauge`` (a 0/1 gauge). Labels
and annotations prefixed ``pyrra.dev/`` propagate to the rules, as in Pyrra. Alerts follow
Pyrra's four burn-rate windows (``_compat_pyrra.pyrra_tiers``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sloguard.durations import format_duration_ms
from sloguard.slo._compat_pyrra import SEVERITY_KEYS, absent_duration_ms, pyrra_tiers
from sloguard.slo._pyrra_selector import parse_selector
from sloguard.slo._reader import Reader
from sloguard.slo._sli import SLIError
from sloguard.slo._validate import check_objective, check_slo
from sloguard.slo.model import (
    SLI,
    SLO,
    Alerting,
    AlertTier,
    AvailabilitySLI,
    Period,
    RatioSLI,
    ratio_from_percent,
)

API_VERSION = "pyrra.dev/v1alpha1"
KIND = "ServiceLevelObjective"
PREFIX = "pyrra.dev/"
_SPEC_KEYS = {"description", "target", "window", "indicator", "alerting", "partial_response_strategy",
              "performanceOverAccuracy", "ruleOutput"}
_ALERTING_KEYS = {"disabled", "burnrates", "absent", "name", "absentName", "severities"}
#: indicator key -> (field names, error-side field); ``latencyNative`` is refused.
_INDICATORS = {"ratio": ("errors", "total"), "latency": ("success", "total"), "bool_gauge": ("metric",)}


def _metric(r: Reader, d: Mapping[str, Any], key: str, path: str) -> str:
    m = r.mapping(d.get(key), f"{path}.{key}")
    r.known(m, f"{path}.{key}", {"metric"})
    text = r.str_(m, "metric", f"{path}.{key}", required=True)
    if text:
        try:
            parse_selector(text, "metric")
        except SLIError as e:
            r.problem(f"{path}.{key}.metric", str(e).removeprefix("metric: "))
            return ""
    return text


def _latency_le(r: Reader, success: str, path: str) -> None:
    le = parse_selector(success, "metric").get("le")
    where = f"{path}.success.metric"
    if le is None:
        r.problem(where, f"{success!r} needs an le matcher naming the latency bucket, e.g. le=\"0.5\"")
        return
    try:
        float(le.value)
    except ValueError:
        r.problem(where, f"the le matcher of {success!r} must be a number, got {le.value!r}")


def _sli(r: Reader, d: Mapping[str, Any], path: str) -> tuple[SLI | None, tuple[str, ...]]:
    if "latencyNative" in d:
        r.problem(f"{path}.latencyNative", "native-histogram latency SLIs are not supported; "
                  "use latency with a classic histogram's _bucket and _count series")
        return None, ()
    kinds = [k for k in _INDICATORS if k in d]
    r.known(d, path, set(_INDICATORS) | {"latencyNative"})
    if len(kinds) != 1:
        r.problem(path, f"needs exactly one of ratio, latency or bool_gauge (found {len(kinds) or 'none'})")
        return None, ()
    kind = kinds[0]
    ipath = f"{path}.{kind}"
    m = r.mapping(d[kind], ipath)
    r.known(m, ipath, set(_INDICATORS[kind]) | {"grouping"})
    grouping = tuple(str(g) for g in r.list_(m, "grouping", ipath))
    if kind == "bool_gauge":
        probe = r.str_(m, "metric", ipath, required=True)
        return (AvailabilitySLI(probe) if probe else None), grouping
    bad_or_good, total = (_metric(r, m, k, ipath) for k in _INDICATORS[kind])
    if not bad_or_good or not total:
        return None, grouping
    if kind == "ratio":
        return RatioSLI(total=total, bad=bad_or_good), grouping
    _latency_le(r, bad_or_good, ipath)
    return RatioSLI(total=total, good=bad_or_good), grouping


def _severities(r: Reader, am: Mapping[str, Any], path: str) -> dict[str, str]:
    sm = r.mapping(am.get("severities"), f"{path}.severities")
    r.known(sm, f"{path}.severities", set(SEVERITY_KEYS) | {"absent"})
    return {k: r.str_(sm, k, f"{path}.severities") for k in sm}


def _alerting(r: Reader, spec: Mapping[str, Any], window_ms: int, target: float, ann: tuple[tuple[str, str], ...]) -> tuple[Alerting, dict[str, str]]:
    path = "spec.alerting"
    am = r.mapping(spec.get("alerting"), path)
    r.known(am, path, _ALERTING_KEYS)
    burn = r.bool_(am, "burnrates", path, default=True) and not r.bool_(am, "disabled", path)
    absent = r.bool_(am, "absent", path, default=True)
    sev = _severities(r, am, path)
    tiers = tuple(
        AlertTier(t.name, t.windows, enabled=burn, for_ms=t.for_ms,
                  labels=(("severity", sev.get(t.name, "") or dict(t.labels)["severity"]),))
        for t in pyrra_tiers(window_ms)
    )
    alerting = Alerting(
        name=r.str_(am, "name", path), tiers=tiers, annotations=ann,
        no_data_for_ms=absent_duration_ms(window_ms, target) if absent else None,
    )
    return alerting, {"pyrra.absentName": r.str_(am, "absentName", path),
                      "pyrra.absentSeverity": sev.get("absent", "")}


def _propagated(r: Reader, meta: Mapping[str, Any], key: str) -> tuple[tuple[str, str], ...]:
    return tuple((k[len(PREFIX):], v) for k, v in r.labels(meta, key, "metadata") if k.startswith(PREFIX))


def _target(r: Reader, spec: Mapping[str, Any]) -> tuple[str, float | None]:
    text = r.str_(spec, "target", "spec", required=True)
    if not text:
        return "", None
    try:
        pct = float(text)
    except ValueError:
        r.problem("spec.target", f"expected a percentage such as \"99.5\", got {text!r}")
        return text, None
    if 0 < pct < 1:
        r.problem("spec.target", f"is a percentage from 0 to 100: {text!r} means {pct:g}%, not {pct * 100:g}% "
                  f'(write "{pct * 100:g}")')
        return text, None
    return text, check_objective(r, "spec.target", ratio_from_percent(pct))


def _window(r: Reader, spec: Mapping[str, Any]) -> int | None:
    """The SLO window; one so short that Pyrra's shortest alert window rounds to 0s is refused."""
    ms = r.duration(spec, "window", "spec", required=True)
    if ms is not None and min(w.short_ms for t in pyrra_tiers(ms) for w in t.windows) == 0:
        r.problem("spec.window", f"{spec['window']!r} is too short for Pyrra's alert windows: the 5m window of a "
                  "28d SLO becomes 0s below a window of about 3d; use at least 3d")
        return None
    return ms


def _check_spec(r: Reader, doc: Mapping[str, Any], spec: Mapping[str, Any]) -> None:
    r.known(doc, "", {"apiVersion", "kind", "metadata", "spec", "status"})
    if doc.get("kind") != KIND:
        r.problem("kind", f"expected {KIND}, got {doc.get('kind')!r}")
    r.known(spec, "spec", _SPEC_KEYS)
    if spec.get("performanceOverAccuracy"):
        r.problem("spec.performanceOverAccuracy", "is not supported: sloguard computes the window exactly "
                  "(remove the field, or set it to false)")


def load(doc: Mapping[str, Any], r: Reader) -> list[tuple[str, SLO]]:
    """The SLO of one ``ServiceLevelObjective`` document (``[]`` when it has problems)."""
    meta = r.mapping(doc.get("metadata"), "metadata")
    spec = r.mapping(doc.get("spec"), "spec")
    _check_spec(r, doc, spec)
    name = r.str_(meta, "name", "metadata", required=True)
    target_text, objective = _target(r, spec)
    window_ms = _window(r, spec)
    sli, grouping = _sli(r, r.mapping(spec.get("indicator"), "spec.indicator"), "spec.indicator")
    if "indicator" not in spec:
        r.problem("spec.indicator", "is required (one of ratio, latency or bool_gauge)")
    target = objective if objective is None else float(target_text) / 100
    alerting, ext = _alerting(r, spec, window_ms or 28 * 86_400_000, target or 0.99, _propagated(r, meta, "annotations"))
    if not name or objective is None or window_ms is None or sli is None:
        return []
    namespace = r.str_(meta, "namespace", "metadata")
    ext |= {"pyrra.target": target_text, "pyrra.namespace": namespace,
            "pyrra.labels": json.dumps(dict(r.labels(meta, "labels", "metadata")), sort_keys=True),
            "pyrra.partialResponseStrategy": r.str_(spec, "partial_response_strategy", "spec")}
    slo = SLO(
        name=name, service=namespace or name, objective=objective, sli=sli,
        period=Period(rolling_ms=window_ms), description=r.str_(spec, "description", "spec"),
        grouping=grouping, labels=_propagated(r, meta, "labels"), alerting=alerting, source=r.source,
        extensions=tuple((k, v) for k, v in ext.items() if v),
    )
    check_slo(r, "spec.indicator", slo)
    return [("", slo)]


def load_all(docs: list[Any], r: Reader) -> list[tuple[str, SLO]]:
    """Every document of a file; with several documents, paths start with ``documents[i].``.
    Only the SLOs of documents without errors are returned; every name is declared for the
    duplicate check."""
    out: list[tuple[str, SLO]] = []
    for i, doc in enumerate(docs):
        r.prefix = f"documents[{i}]." if len(docs) > 1 else ""
        sub = Reader(r.source)
        got = load(sub.mapping(doc, ""), sub)
        r.absorb(sub)
        for _, slo in got:
            r.declare("metadata", slo.service, slo.name, "metadata.name")
        if not any(p.is_error for p in sub.problems):
            out.extend((r.full("metadata"), slo) for _, slo in got)
    r.prefix = ""
    return out


def _indicator(slo: SLO) -> dict[str, Any]:
    from sloguard.slo._compat_pyrra import objective_of

    o = objective_of(slo)
    sli = slo.sli
    if o.kind == "bool_gauge":
        ind: dict[str, Any] = {"metric": str(o.total)}
    elif o.kind == "ratio":
        ind = {"errors": {"metric": sli.bad if isinstance(sli, RatioSLI) else str(o.bad)},
               "total": {"metric": sli.total if isinstance(sli, RatioSLI) else str(o.total)}}
    else:
        ind = {"success": {"metric": sli.good if isinstance(sli, RatioSLI) else str(o.bad)},
               "total": {"metric": sli.total if isinstance(sli, RatioSLI) else str(o.total)}}
    if slo.grouping:
        ind["grouping"] = list(slo.grouping)
    return {o.kind: ind}


def _alerting_doc(slo: SLO) -> dict[str, Any]:
    a = slo.alerting
    d: dict[str, Any] = {}
    if a.name:
        d["name"] = a.name
    if not any(t.enabled for t in a.tiers):
        d["burnrates"] = False
    if a.no_data_for_ms is None:
        d["absent"] = False
    if slo.extension("pyrra.absentName"):
        d["absentName"] = slo.extension("pyrra.absentName")
    defaults = {t.name: dict(t.labels)["severity"] for t in pyrra_tiers(slo.period.nominal_ms)}
    sev = {t.name: dict(t.labels).get("severity", "") for t in a.tiers if t.name in defaults}
    sev = {k: v for k, v in sev.items() if v and v != defaults[k]}
    if slo.extension("pyrra.absentSeverity"):
        sev["absent"] = slo.extension("pyrra.absentSeverity")
    if sev:
        d["severities"] = sev
    return d


def dump(slos: list[SLO]) -> list[dict[str, Any]]:
    """One ``ServiceLevelObjective`` per SLO; ``_compat_pyrra.CompatError`` for an SLO Pyrra
    cannot express (see ``lossy`` for what is dropped)."""
    docs = []
    for slo in slos:
        meta: dict[str, Any] = {"name": slo.name}
        if slo.extension("pyrra.namespace"):
            meta["namespace"] = slo.extension("pyrra.namespace")
        labels = json.loads(slo.extension("pyrra.labels", "{}")) or {PREFIX + k: v for k, v in slo.labels}
        if labels:
            meta["labels"] = labels
        if slo.alerting.annotations:
            meta["annotations"] = {PREFIX + k: v for k, v in slo.alerting.annotations}
        spec: dict[str, Any] = {"description": slo.description} if slo.description else {}
        spec["target"] = slo.extension("pyrra.target") or f"{slo.objective * 100:.12g}"
        spec["window"] = format_duration_ms(slo.period.nominal_ms)
        spec["indicator"] = _indicator(slo)
        alerting = _alerting_doc(slo)
        if alerting:
            spec["alerting"] = alerting
        docs.append({"apiVersion": API_VERSION, "kind": KIND, "metadata": meta, "spec": spec})
    return docs


def lossy(slo: SLO) -> list[str]:
    """What a Pyrra document cannot say about this SLO."""
    out = []
    names = [t.name for t in slo.alerting.tiers]
    if names and names != [t.name for t in pyrra_tiers(slo.period.nominal_ms)]:
        out.append(f"SLO {slo.name!r}: Pyrra alerts on its own four burn-rate windows; the tiers {', '.join(names)} are replaced")
    if slo.budgeting.value != "Occurrences":
        out.append(f"SLO {slo.name!r}: Pyrra has no timeslice budgeting")
    if slo.alerting.min_events:
        out.append(f"SLO {slo.name!r}: Pyrra has no minimum event count for alerts")
    if slo.alerting.labels:
        out.append(f"SLO {slo.name!r}: Pyrra has no alert labels (dropped: {', '.join(k for k, _ in slo.alerting.labels)})")
    if slo.alerting.runbook:
        out.append(f"SLO {slo.name!r}: Pyrra has no runbook field (the runbook {slo.alerting.runbook!r} is dropped)")
    if slo.service != (slo.extension("pyrra.namespace") or slo.name):
        out.append(f"SLO {slo.name!r}: Pyrra has no service field (service {slo.service!r} is dropped)")
    return out
