"""sloguard's own concise SLO form (``apiVersion: sloguard/v1``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sloguard.durations import format_duration_ms
from sloguard.slo._calendar_spec import checked_timezone
from sloguard.slo._loss import Loss
from sloguard.slo._querycheck import check_latency, check_query
from sloguard.slo._reader import Reader
from sloguard.slo._validate import (
    check_grouping,
    check_labels,
    check_name,
    check_objective,
    check_slo,
)
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
    clean_ratio,
    ratio_from_percent,
    workbook_tiers,
)

API_VERSION = "sloguard/v1"
_SLO_KEYS = {"name", "service", "description", "objective", "period", "budgeting", "grouping", "labels", "sli", "alerting",
             "query_backend"}


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


def _q(r: Reader, m: Mapping[str, Any], key: str, path: str, *, required: bool = True, counter: bool = False) -> str:
    q = r.str_(m, key, path, required=required)
    check_query(r, f"{path}.{key}", q, counter=counter)
    return q


def _buckets(r: Reader, items: list[Any], path: str) -> tuple[float, ...]:
    out = []
    for i, b in enumerate(items):
        if isinstance(b, int | float) and not isinstance(b, bool):
            out.append(float(b))
        else:
            r.problem(f"{path}[{i}]", f"expected a bucket boundary (a number), got {b!r}")
    return tuple(out)


def _sli(r: Reader, d: Mapping[str, Any], path: str) -> SLI | None:
    kinds = [k for k in ("ratio", "events", "raw", "latency", "availability") if k in d]
    if len(kinds) != 1:
        r.problem(path, "needs exactly one of ratio, events, raw, latency, availability")
        return None
    kind = kinds[0]
    p = f"{path}.{kind}"
    m = r.mapping(d[kind], p)
    if kind == "ratio":
        good, bad = _q(r, m, "good", p, required=False, counter=True), _q(r, m, "bad", p, required=False, counter=True)
        if bool(good) == bool(bad):
            r.problem(p, "needs exactly one of good or bad, beside total")
        return RatioSLI(total=_q(r, m, "total", p, counter=True), good=good or None, bad=bad or None)
    if kind == "events":
        return EventsSLI(_q(r, m, "error_query", p), _q(r, m, "total_query", p))
    if kind == "raw":
        return RawSLI(_q(r, m, "error_ratio_query", p))
    if kind == "latency":
        buckets = _buckets(r, r.list_(m, "buckets", p), f"{p}.buckets")
        sli = LatencySLI(
            metric=r.str_(m, "metric", p, required=True),
            threshold=r.float_(m, "threshold", p, required=True) or 0.0,
            selector=r.str_(m, "selector", p),
            estimate=r.bool_(m, "estimate", p),
            buckets=buckets,
        )
        check_latency(r, p, sli.metric, sli.selector)
        return sli
    return AvailabilitySLI(_q(r, m, "probe", p))


def _tier(r: Reader, base: AlertTier, v: Any, path: str) -> AlertTier:
    if v is False:
        return AlertTier(base.name, base.windows, enabled=False, labels=base.labels)
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
    labels, annotations = _labels(r, m, path)
    return AlertTier(base.name, windows, enabled=r.bool_(m, "enabled", path, True),
                     for_ms=r.duration(m, "for", path) or 0, labels=base.labels + labels, annotations=annotations)


def _labels(r: Reader, m: Mapping[str, Any], path: str) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    """An alerting block's labels and annotations, checked."""
    labels, annotations = r.labels(m, "labels", path), r.labels(m, "annotations", path)
    check_labels(r, f"{path}.labels", labels)
    check_labels(r, f"{path}.annotations", annotations, annotations=True)
    return labels, annotations


def alerting_from(r: Reader, v: Any, path: str, period: Period, name: str) -> Alerting:
    m = r.mapping(v, path)
    r.known(m, path, {"name", "labels", "annotations", "runbook", "min_events", "no_data", "page", "ticket"})
    page, ticket = workbook_tiers(period.nominal_ms)
    no_data = m.get("no_data", "10m")
    labels, annotations = _labels(r, m, path)
    return Alerting(
        name=r.str_(m, "name", path, default=name),
        tiers=(_tier(r, page, m.get("page"), f"{path}.page"), _tier(r, ticket, m.get("ticket"), f"{path}.ticket")),
        labels=labels,
        annotations=annotations,
        runbook=r.str_(m, "runbook", path),
        min_events=int(r.float_(m, "min_events", path) or 0),
        no_data_for_ms=None if no_data is False else r.duration({"no_data": no_data}, "no_data", path),
    )


def _budgeting(r: Reader, b: Any, path: str) -> tuple[BudgetingMethod, float | None, int | None]:
    if isinstance(b, Mapping) and "timeslices" in b:
        tm = r.mapping(b["timeslices"], f"{path}.timeslices")
        target = check_objective(r, f"{path}.timeslices.target", r.float_(tm, "target", f"{path}.timeslices", required=True))
        return BudgetingMethod.TIMESLICES, target, r.duration(tm, "slice", f"{path}.timeslices") or 60_000
    if b not in (None, "occurrences"):
        r.problem(path, f"expected occurrences or {{timeslices: {{target, slice}}}}, got {b!r}")
    return BudgetingMethod.OCCURRENCES, None, None


def _slo(r: Reader, raw: Any, path: str, service: str, common: tuple[tuple[str, str], ...]) -> SLO | None:
    """One SLO; every check runs even when an earlier one failed. None when any failed."""
    mark = r.mark()
    d = r.mapping(raw, path)
    r.known(d, path, _SLO_KEYS)
    name = r.str_(d, "name", path, required=True)
    check_name(r, f"{path}.name", name)
    service = r.str_(d, "service", path, default=service)
    check_name(r, f"{path}.service", service)
    r.declare(path, service, name)
    objective = objective_from(r, d, "objective", path)
    period = _period(r, d.get("period"), f"{path}.period")
    sli = _sli(r, r.mapping(d.get("sli"), f"{path}.sli"), f"{path}.sli")
    budgeting, target, slice_ms = _budgeting(r, d.get("budgeting"), f"{path}.budgeting")
    grouping = tuple(str(g) for g in r.list_(d, "grouping", path))
    check_grouping(r, f"{path}.grouping", grouping)
    labels = r.labels(d, "labels", path)
    check_labels(r, f"{path}.labels", labels)
    alerting = alerting_from(r, d.get("alerting"), f"{path}.alerting", period, name)
    if sli is None or objective is None or r.errors_since(mark):
        return None
    slo = SLO(
        name=name, service=service, objective=objective, sli=sli, period=period, budgeting=budgeting,
        timeslice_target=target, timeslice_ms=slice_ms, description=r.str_(d, "description", path),
        grouping=grouping, labels=common + labels, alerting=alerting, source=r.source,
        query_backend=r.str_(d, "query_backend", path),
    )
    check_slo(r, f"{path}.sli", slo)
    return None if r.errors_since(mark) else slo


def load(doc: Mapping[str, Any], r: Reader) -> list[tuple[str, SLO]]:
    """The document's valid SLOs with their paths; problems of every SLO go to ``r``."""
    mark = r.mark()
    r.known(doc, "", {"apiVersion", "kind", "service", "labels", "slos"})
    service = r.str_(doc, "service", "")
    common = r.labels(doc, "labels", "")
    check_labels(r, "labels", common)
    doc_ok = not r.errors_since(mark)
    out = []
    for i, raw in enumerate(r.list_(doc, "slos", "")):
        slo = _slo(r, raw, f"slos[{i}]", service, common)
        if slo is not None and doc_ok:
            out.append((r.full(f"slos[{i}]"), slo))
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
    d: dict[str, Any] = {} if t.enabled else {"enabled": False}
    if t.windows != default.windows:
        d["windows"] = [
            {"long": format_duration_ms(w.long_ms), "short": format_duration_ms(w.short_ms), "factor": w.factor}
            for w in t.windows
        ]
    if t.for_ms:
        d["for"] = format_duration_ms(t.for_ms)
    base = dict(default.labels)
    extra = {k: v for k, v in dict(t.labels).items() if base.get(k) != v}
    if extra:
        d["labels"] = extra
    if t.annotations:
        d["annotations"] = dict(t.annotations)
    return False if d == {"enabled": False} else d


def _objective_text(objective: float) -> str | float:
    """``"99.9%"`` when that reads back as exactly ``objective``, else the ratio itself."""
    pct = clean_ratio(objective * 100)
    text = f"{pct:.15g}%"
    return text if ratio_from_percent(float(text[:-1])) == objective else objective


def _period_doc(p: Period) -> Any:
    if p.calendar is not None:
        return {"calendar": p.calendar.value, "timezone": p.timezone}
    day = 86_400_000
    return f"{p.nominal_ms // day}d" if p.nominal_ms % day == 0 else format_duration_ms(p.nominal_ms)


def dump_slo(slo: SLO) -> dict[str, Any]:
    d: dict[str, Any] = {"name": slo.name, "service": slo.service}
    if slo.description:
        d["description"] = slo.description
    d["objective"] = _objective_text(slo.objective)
    d["period"] = _period_doc(slo.period)
    if slo.budgeting is BudgetingMethod.TIMESLICES:
        d["budgeting"] = {"timeslices": {"target": slo.timeslice_target, "slice": format_duration_ms(slo.timeslice_ms or 60_000)}}
    if slo.grouping:
        d["grouping"] = list(slo.grouping)
    if slo.labels:
        d["labels"] = dict(slo.labels)
    d["sli"] = _sli_doc(slo.sli)
    if slo.query_backend:
        d["query_backend"] = slo.query_backend
    a = slo.alerting
    page, ticket = workbook_tiers(slo.period.nominal_ms)
    al: dict[str, Any] = {"name": a.name} if a.name and a.name != slo.name else {}
    for key, val in (("labels", dict(a.labels)), ("annotations", dict(a.annotations)), ("runbook", a.runbook), ("min_events", a.min_events)):
        if val:
            al[key] = val
    if a.no_data_for_ms != 600_000:
        al["no_data"] = False if a.no_data_for_ms is None else format_duration_ms(a.no_data_for_ms)
    tiers = {t.name: t for t in a.tiers}
    for default in (page, ticket):
        tier = tiers.get(default.name, AlertTier(default.name, default.windows, enabled=False, labels=default.labels))
        td = _tier_doc(tier, default)
        if td != {}:
            al[tier.name] = td
    if al:
        d["alerting"] = al
    return d


def dump(slos: list[SLO]) -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "slos": [dump_slo(s) for s in slos]}


def lossy(slo: SLO) -> list[Loss]:
    """What a native document cannot say about this SLO: tiers other than page and ticket."""
    names = [t.name for t in slo.alerting.tiers]
    if sorted(set(names)) == ["page", "ticket"] and len(names) == 2:
        return []
    return [Loss(slo.name, "alerting.tiers", (
        f"native specs have exactly a page and a ticket tier; the tiers {names} become page and ticket "
        "(a missing one disabled, any other dropped)"))]


#: The SLI reader and writer of native documents, for other formats' exact annotations.
read_sli = _sli
sli_doc = _sli_doc
