"""OpenSLO v1: Service, SLI, SLO, AlertPolicy and AlertCondition documents."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sloguard.durations import format_duration_ms
from sloguard.slo._calendar_spec import OPENSLO_CALENDAR, checked_timezone
from sloguard.slo._reader import Reader
from sloguard.slo._sli import error_rate, total_rate
from sloguard.slo._validate import check_objective, check_slo
from sloguard.slo.model import (
    SLI,
    SLO,
    Alerting,
    AlertTier,
    AvailabilitySLI,
    BudgetingMethod,
    BurnWindow,
    CalendarUnit,
    EventsSLI,
    Period,
    RatioSLI,
    ratio_from_percent,
    workbook_tiers,
)

API_VERSION = "openslo/v1"
_THRESHOLD_OPS = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">="}


def _query(r: Reader, m: Any, path: str) -> str:
    src = r.mapping(r.mapping(m, path).get("metricSource"), f"{path}.metricSource")
    typ = r.str_(src, "type", f"{path}.metricSource", default="Prometheus")
    if typ.lower() != "prometheus":
        r.problem(f"{path}.metricSource.type", f"unsupported metric source {typ!r} (only Prometheus)")
    spec = r.mapping(src.get("spec"), f"{path}.metricSource.spec")
    q = spec.get("query") or spec.get("promql")
    if not isinstance(q, str) or not q.strip():
        r.problem(f"{path}.metricSource.spec.query", "is required")
        return ""
    return q.strip()


def _indicator(r: Reader, spec: Mapping[str, Any], path: str, objective: Mapping[str, Any]) -> SLI | None:
    if "ratioMetric" in spec:
        p = f"{path}.ratioMetric"
        rm = r.mapping(spec["ratioMetric"], p)
        total = _query(r, rm.get("total"), f"{p}.total") if "total" in rm else ""
        if not total:
            r.problem(f"{p}.total", "is required")
        good = _query(r, rm["good"], f"{p}.good") if "good" in rm else None
        bad = _query(r, rm["bad"], f"{p}.bad") if "bad" in rm else None
        if bool(good) == bool(bad):
            r.problem(p, "needs exactly one of good or bad, beside total")
        return RatioSLI(total=total, good=good, bad=bad)
    if "thresholdMetric" in spec:
        p = f"{path}.thresholdMetric"
        q = _query(r, spec["thresholdMetric"], p)
        op = str(objective.get("op", "lte"))
        if op not in _THRESHOLD_OPS or "value" not in objective:
            r.problem(f"{path}.objectives", "a thresholdMetric SLI needs op (lt, lte, gt, gte) and value in its objective")
            return None
        if op == "gte" and float(objective["value"]) == 1.0:
            return AvailabilitySLI(q)  # ">= 1" on a 0/1 probe is the probe itself (our own export)
        return AvailabilitySLI(f"(({q}) {_THRESHOLD_OPS[op]} bool {objective['value']})")
    r.problem(path, "needs ratioMetric or thresholdMetric")
    return None


def _period(r: Reader, windows: list[Any], path: str) -> Period:
    if len(windows) != 1:
        r.problem(path, "exactly one timeWindow is supported")
        return Period()
    m = r.mapping(windows[0], f"{path}[0]")
    dur = str(m.get("duration", "30d"))
    if r.bool_(m, "isRolling", f"{path}[0]", default=True):
        ms = r.duration(m, "duration", f"{path}[0]", required=True)
        return Period(rolling_ms=ms) if ms else Period()
    cal = r.mapping(m.get("calendar"), f"{path}[0].calendar")
    units = {"1w": CalendarUnit.WEEK, "1M": CalendarUnit.MONTH, "1mo": CalendarUnit.MONTH, "1Q": CalendarUnit.QUARTER}
    if dur not in units:
        r.problem(f"{path}[0].duration", f"calendar windows support 1w, 1M or 1Q, got {dur!r}")
        return Period()
    return Period(rolling_ms=None, calendar=units[dur], timezone=checked_timezone(r, cal, "timeZone", f"{path}[0].calendar"))


def _tiers(r: Reader, policies: list[Any], refs: Mapping[str, Mapping[str, Any]], path: str, period: Period) -> tuple[AlertTier, ...]:
    if not policies:
        return workbook_tiers(period.nominal_ms)
    tiers = []
    for i, pol in enumerate(policies):
        pp = f"{path}[{i}]"
        pm = r.mapping(pol, pp)
        if "kind" not in pm and "alertPolicyRef" in pm:
            pm = refs.get(str(pm["alertPolicyRef"]), {})
        name = str(r.mapping(pm.get("metadata"), pp).get("name", f"policy{i}"))
        windows, labels, for_ms = [], [], 0
        for j, c in enumerate(r.list_(r.mapping(pm.get("spec"), pp), "conditions", f"{pp}.spec")):
            cm = r.mapping(c, f"{pp}.spec.conditions[{j}]")
            if "conditionRef" in cm:
                cm = refs.get(str(cm["conditionRef"]), {})
            cs = r.mapping(cm.get("spec"), f"{pp}.spec.conditions[{j}].spec")
            cond = r.mapping(cs.get("condition"), f"{pp}.spec.conditions[{j}].spec.condition")
            cp = f"{pp}.spec.conditions[{j}].spec.condition"
            look = r.duration(cond, "lookbackWindow", cp, required=True)
            thr = r.float_(cond, "threshold", cp, required=True)
            for_ms = max(for_ms, r.duration(cond, "alertAfter", cp) or 0)
            if look and thr:
                windows.append(BurnWindow(look, max(look // 12, 60_000), thr))
            if cs.get("severity"):
                labels = [("severity", str(cs["severity"]))]
        tiers.append(AlertTier(name, tuple(windows), for_ms=for_ms, labels=tuple(labels)))
    return tuple(tiers)


def load(docs: list[Mapping[str, Any]], r: Reader) -> list[tuple[str, SLO]]:
    refs = {str(r.mapping(d.get("metadata"), "metadata").get("name")): d for d in docs if d.get("kind") != "SLO"}
    out = []
    for i, doc in enumerate(docs):
        if doc.get("kind") != "SLO":
            continue
        path = f"documents[{i}](SLO)"
        meta, spec = r.mapping(doc.get("metadata"), f"{path}.metadata"), r.mapping(doc.get("spec"), f"{path}.spec")
        name = r.str_(meta, "name", f"{path}.metadata", required=True)
        objectives = r.list_(spec, "objectives", f"{path}.spec")
        if len(objectives) != 1:
            r.problem(f"{path}.spec.objectives", f"exactly one objective is supported, got {len(objectives)}")
            continue
        om = r.mapping(objectives[0], f"{path}.spec.objectives[0]")
        target = r.float_(om, "target", f"{path}.spec.objectives[0]")
        if target is None and "targetPercent" in om:
            target = ratio_from_percent(r.float_(om, "targetPercent", f"{path}.spec.objectives[0]") or 0)
        objective = check_objective(r, f"{path}.spec.objectives[0].target", target)
        ind = spec.get("indicator")
        if ind is None and "indicatorRef" in spec:
            ind = refs.get(str(spec["indicatorRef"]))
            if ind is None:
                r.problem(f"{path}.spec.indicatorRef", f"no SLI document named {spec['indicatorRef']!r}")
        ispec = r.mapping(r.mapping(ind, f"{path}.spec.indicator").get("spec"), f"{path}.spec.indicator.spec")
        sli = _indicator(r, ispec, f"{path}.spec.indicator.spec", om)
        period = _period(r, r.list_(spec, "timeWindow", f"{path}.spec"), f"{path}.spec.timeWindow")
        method = str(spec.get("budgetingMethod", "Occurrences"))
        if method not in ("Occurrences", "Timeslices"):
            r.problem(f"{path}.spec.budgetingMethod", f"unsupported budgeting method {method!r} (Occurrences or Timeslices)")
        ts = method == "Timeslices"
        if sli is None or objective is None or not name:
            continue
        slo = SLO(
            name=name, service=r.str_(spec, "service", f"{path}.spec", required=True), objective=objective,
            sli=sli, period=period, description=r.str_(spec, "description", f"{path}.spec"),
            budgeting=BudgetingMethod.TIMESLICES if ts else BudgetingMethod.OCCURRENCES,
            timeslice_target=r.float_(om, "timeSliceTarget", f"{path}.spec.objectives[0]") if ts else None,
            timeslice_ms=r.duration(om, "timeSliceWindow", f"{path}.spec.objectives[0]") if ts else None,
            alerting=Alerting(name=name, tiers=_tiers(r, r.list_(spec, "alertPolicies", f"{path}.spec"), refs, f"{path}.spec.alertPolicies", period)),
            source=r.source,
        )
        check_slo(r, path, slo)
        out.append((path, slo))
    return out


def _source(q: str) -> dict[str, Any]:
    return {"metricSource": {"type": "Prometheus", "spec": {"query": q}}}


def dump(slos: list[SLO]) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for svc in dict.fromkeys(s.service for s in slos):
        docs.append({"apiVersion": API_VERSION, "kind": "Service", "metadata": {"name": svc}, "spec": {}})
    for slo in slos:
        sli = slo.sli
        obj: dict[str, Any] = {"target": slo.objective}
        if isinstance(sli, AvailabilitySLI):
            indicator: dict[str, Any] = {"thresholdMetric": _source(sli.probe)}
            obj.update(op="gte", value=1)
        elif isinstance(sli, RatioSLI):
            rm: dict[str, Any] = {"counter": True, "total": _source(sli.total)}
            rm.update({"bad": _source(sli.bad)} if sli.bad else {"good": _source(sli.good or "")})
        elif isinstance(sli, EventsSLI):
            rm = {"counter": False, "bad": _source(sli.error_query), "total": _source(sli.total_query)}
        else:
            from sloguard.slo._spec_sloth import _PLACEHOLDER_MS, _templated

            rm = {"counter": False, "bad": _source(_templated(error_rate(slo, _PLACEHOLDER_MS))),
                  "total": _source(_templated(total_rate(slo, _PLACEHOLDER_MS)))}
        if not isinstance(sli, AvailabilitySLI):
            indicator = {"ratioMetric": rm}
        if slo.period.calendar is None:
            tw: dict[str, Any] = {"duration": format_duration_ms(slo.period.nominal_ms), "isRolling": True}
        else:
            tw = {"duration": OPENSLO_CALENDAR[slo.period.calendar], "isRolling": False,
                  "calendar": {"startTime": "2020-01-01 00:00:00", "timeZone": slo.period.timezone}}
        if slo.budgeting is BudgetingMethod.TIMESLICES:
            obj.update(timeSliceTarget=slo.timeslice_target, timeSliceWindow=format_duration_ms(slo.timeslice_ms or 60_000))
        spec: dict[str, Any] = {"service": slo.service}
        if slo.description:
            spec["description"] = slo.description
        spec.update(indicator={"metadata": {"name": f"{slo.name}-sli"}, "spec": indicator},
                    timeWindow=[tw], budgetingMethod=slo.budgeting.value, objectives=[obj])
        docs.append({"apiVersion": API_VERSION, "kind": "SLO", "metadata": {"name": slo.name}, "spec": spec})
    return docs

