"""sloguard's own concise SLO form (``apiVersion: sloguard/v1``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sloguard.durations import format_duration_ms
from sloguard.slo._calendar_spec import checked_timezone
from sloguard.slo._reader import Reader
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
    LatencySLI,
    Period,
    RatioSLI,
    RawSLI,
    ratio_from_percent,
    workbook_tiers,
)

API_VERSION = "sloguard/v1"
_SLO_KEYS = {"name", "service", "description", "objective", "period", "budgeting", "grouping", "labels", "sli", "alerting"}


def objective_from(r: Reader, d: Mapping[str, Any], key: str, path: str) -> float | None:
    """``99.9``, ``"99.9%"`` (percent) or ``0.999`` (ratio)."""
    v = r.float_(d, key, path, required=True)
    if v is not None and v >= 1 and not (isinstance(d.get(key), str) and str(d[key]).endswith("%")):
        v = ratio_from_percent(v)
    return check_objective(r, f"{path}.{key}", v)


def _period(r: Reader, v: Any, path: str) -> Period:
    if v is None:
        return Period()
    if isinstance(v, str):
        ms = r.duration({"period": v}, "period", path.rsplit(".", 1)[0])
        return Period(rolling_ms=ms) if ms else Period()
    m = r.mapping(v, path)
    r.known(m, path, {"calendar", "timezone"})
    unit = r.str_(m, "calendar", path, required=True)
    try:
        cal = CalendarUnit(unit)
    except ValueError:
        r.problem(f"{path}.calendar", f"unknown calendar period {unit!r} (expected week, month or quarter)")
        return Period()
    return Period(rolling_ms=None, calendar=cal, timezone=checked_timezone(r, m, "timezone", path))


def _sli(r: Reader, d: Mapping[str, Any], path: str) -> SLI | None:
    kinds = [k for k in ("ratio", "events", "raw", "latency", "availability") if k in d]
    if len(kinds) != 1:
        r.problem(path, "needs exactly one of ratio, events, raw, latency, availability")
        return None
    kind = kinds[0]
    p = f"{path}.{kind}"
    m = r.mapping(d[kind], p)
    if kind == "ratio":
        good, bad = r.str_(m, "good", p), r.str_(m, "bad", p)
        if bool(good) == bool(bad):
            r.problem(p, "needs exactly one of good or bad, beside total")
        return RatioSLI(total=r.str_(m, "total", p, required=True), good=good or None, bad=bad or None)
    if kind == "events":
        return EventsSLI(r.str_(m, "error_query", p, required=True), r.str_(m, "total_query", p, required=True))
    if kind == "raw":
        return RawSLI(r.str_(m, "error_ratio_query", p, required=True))
    if kind == "latency":
        buckets = tuple(float(b) for b in r.list_(m, "buckets", p))
        return LatencySLI(
            metric=r.str_(m, "metric", p, required=True),
            threshold=r.float_(m, "threshold", p, required=True) or 0.0,
            selector=r.str_(m, "selector", p),
            estimate=r.bool_(m, "estimate", p),
            buckets=buckets,
        )
    return AvailabilitySLI(r.str_(m, "probe", p, required=True))


def _tier(r: Reader, base: AlertTier, v: Any, path: str) -> AlertTier:
    if v is False:
        return AlertTier(base.name, base.windows, enabled=False)
    m = r.mapping(v, path)
    r.known(m, path, {"enabled", "for", "labels", "annotations", "windows"})
    windows = base.windows
    if "windows" in m:
        ws = []
        for i, w in enumerate(r.list_(m, "windows", path)):
            wp = f"{path}.windows[{i}]"
            wm = r.mapping(w, wp)
            long_, short = r.duration(wm, "long", wp, required=True), r.duration(wm, "short", wp, required=True)
            factor = r.float_(wm, "factor", wp, required=True)
            if long_ and short and factor:
                if short >= long_:
                    r.problem(wp, f"short window {format_duration_ms(short)} must be shorter than long window {format_duration_ms(long_)}")
                ws.append(BurnWindow(long_, short, factor))
        windows = tuple(ws)
    return AlertTier(
        base.name,
        windows,
        enabled=r.bool_(m, "enabled", path, True),
        for_ms=r.duration(m, "for", path) or 0,
        labels=base.labels + r.labels(m, "labels", path),
        annotations=r.labels(m, "annotations", path),
    )


def alerting_from(r: Reader, v: Any, path: str, period: Period, name: str) -> Alerting:
    m = r.mapping(v, path)
    r.known(m, path, {"name", "labels", "annotations", "runbook", "min_events", "no_data", "page", "ticket"})
    page, ticket = workbook_tiers(period.nominal_ms)
    no_data = m.get("no_data", "10m")
    return Alerting(
        name=r.str_(m, "name", path, default=name),
        tiers=(_tier(r, page, m.get("page"), f"{path}.page"), _tier(r, ticket, m.get("ticket"), f"{path}.ticket")),
        labels=r.labels(m, "labels", path),
        annotations=r.labels(m, "annotations", path),
        runbook=r.str_(m, "runbook", path),
        min_events=int(r.float_(m, "min_events", path) or 0),
        no_data_for_ms=None if no_data is False else r.duration({"no_data": no_data}, "no_data", path),
    )


def load(doc: Mapping[str, Any], r: Reader) -> list[tuple[str, SLO]]:
    r.known(doc, "", {"apiVersion", "kind", "service", "labels", "slos"})
    service = r.str_(doc, "service", "")
    common = r.labels(doc, "labels", "")
    out = []
    for i, raw in enumerate(r.list_(doc, "slos", "")):
        path = f"slos[{i}]"
        d = r.mapping(raw, path)
        r.known(d, path, _SLO_KEYS)
        name = r.str_(d, "name", path, required=True)
        objective = objective_from(r, d, "objective", path)
        period = _period(r, d.get("period"), f"{path}.period")
        sli = _sli(r, r.mapping(d.get("sli"), f"{path}.sli"), f"{path}.sli")
        budgeting, target, slice_ms = BudgetingMethod.OCCURRENCES, None, None
        b = d.get("budgeting")
        if isinstance(b, Mapping) and "timeslices" in b:
            tm = r.mapping(b["timeslices"], f"{path}.budgeting.timeslices")
            budgeting = BudgetingMethod.TIMESLICES
            target = check_objective(r, f"{path}.budgeting.timeslices.target", r.float_(tm, "target", f"{path}.budgeting.timeslices", required=True))
            slice_ms = r.duration(tm, "slice", f"{path}.budgeting.timeslices") or 60_000
        elif b not in (None, "occurrences"):
            r.problem(f"{path}.budgeting", f"expected occurrences or {{timeslices: {{target, slice}}}}, got {b!r}")
        grouping = tuple(str(g) for g in r.list_(d, "grouping", path))
        if sli is None or objective is None or not name:
            continue
        slo = SLO(
            name=name, service=r.str_(d, "service", path, default=service), objective=objective, sli=sli,
            period=period, budgeting=budgeting, timeslice_target=target, timeslice_ms=slice_ms,
            description=r.str_(d, "description", path), grouping=grouping,
            labels=common + r.labels(d, "labels", path),
            alerting=alerting_from(r, d.get("alerting"), f"{path}.alerting", period, name),
            source=r.source,
        )
        check_slo(r, path, slo)
        out.append((path, slo))
    return out


def _sli_doc(sli: SLI) -> dict[str, Any]:
    match sli:
        case RatioSLI(total=t, good=g, bad=b):
            d = {"total": t}
            d.update({"bad": b} if b else {"good": g or ""})
            return {"ratio": d}
        case EventsSLI(error_query=e, total_query=t):
            return {"events": {"error_query": e, "total_query": t}}
        case RawSLI(error_ratio_query=q):
            return {"raw": {"error_ratio_query": q}}
        case LatencySLI():
            lat: dict[str, Any] = {"metric": sli.metric, "threshold": sli.threshold}
            if sli.selector:
                lat["selector"] = sli.selector
            if sli.estimate:
                lat["estimate"] = True
            if sli.buckets:
                lat["buckets"] = list(sli.buckets)
            return {"latency": lat}
        case AvailabilitySLI(probe=p):
            return {"availability": {"probe": p}}
    raise TypeError(sli)


def _tier_doc(t: AlertTier, default: AlertTier) -> Any:
    if not t.enabled:
        return False
    d: dict[str, Any] = {}
    if t.windows != default.windows:
        d["windows"] = [
            {"long": format_duration_ms(w.long_ms), "short": format_duration_ms(w.short_ms), "factor": w.factor}
            for w in t.windows
        ]
    if t.for_ms:
        d["for"] = format_duration_ms(t.for_ms)
    extra = tuple(x for x in t.labels if x not in default.labels)
    if extra:
        d["labels"] = dict(extra)
    if t.annotations:
        d["annotations"] = dict(t.annotations)
    return d


def dump_slo(slo: SLO) -> dict[str, Any]:
    d: dict[str, Any] = {"name": slo.name, "service": slo.service}
    if slo.description:
        d["description"] = slo.description
    d["objective"] = f"{slo.objective * 100:.10g}%"
    if slo.period.calendar is None:
        d["period"] = format_duration_ms(slo.period.nominal_ms)
    else:
        d["period"] = {"calendar": slo.period.calendar.value, "timezone": slo.period.timezone}
    if slo.budgeting is BudgetingMethod.TIMESLICES:
        d["budgeting"] = {"timeslices": {"target": slo.timeslice_target, "slice": format_duration_ms(slo.timeslice_ms or 60_000)}}
    if slo.grouping:
        d["grouping"] = list(slo.grouping)
    if slo.labels:
        d["labels"] = dict(slo.labels)
    d["sli"] = _sli_doc(slo.sli)
    a = slo.alerting
    page, ticket = workbook_tiers(slo.period.nominal_ms)
    al: dict[str, Any] = {"name": a.name} if a.name and a.name != slo.name else {}
    for key, val in (("labels", dict(a.labels)), ("annotations", dict(a.annotations)), ("runbook", a.runbook), ("min_events", a.min_events)):
        if val:
            al[key] = val
    if a.no_data_for_ms != 600_000:
        al["no_data"] = False if a.no_data_for_ms is None else format_duration_ms(a.no_data_for_ms)
    for tier, default in zip(a.tiers, (page, ticket), strict=False):
        td = _tier_doc(tier, default)
        if td != {}:
            al[tier.name] = td
    if al:
        d["alerting"] = al
    return d


def dump(slos: list[SLO]) -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "slos": [dump_slo(s) for s in slos]}
