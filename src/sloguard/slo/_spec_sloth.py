"""Sloth's ``prometheus/v1`` spec (objective in percent, ``{{.window}}`` rate queries)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sloguard.durations import format_duration_ms
from sloguard.slo._loss import Loss
from sloguard.slo._reader import Reader
from sloguard.slo._sli import availability_ratio, error_rate, total_rate
from sloguard.slo._validate import check_objective, check_slo
from sloguard.slo.model import (
    SLI,
    SLO,
    Alerting,
    AlertTier,
    AvailabilitySLI,
    BudgetingMethod,
    EventsSLI,
    Period,
    RawSLI,
    clean_ratio,
    ratio_from_percent,
    workbook_tiers,
)

VERSION = "prometheus/v1"
#: The period of a Sloth spec read without one (Sloth's own default), and its no-data ``for``.
_PERIOD = Period()
NO_DATA_FOR_MS: int | None = None
#: A window no real spec uses; it is replaced by ``{{.window}}`` when exporting to Sloth.
_PLACEHOLDER_MS = 123_456_789
_PLACEHOLDER_TEXT = "1d10h17m36s789ms"


def _sli(r: Reader, d: Mapping[str, Any], path: str) -> SLI | None:
    r.known(d, path, {"events", "raw", "plugin"})
    if "plugin" in d:
        pid = r.mapping(d["plugin"], f"{path}.plugin").get("id", "?")
        r.problem(f"{path}.plugin", f"Sloth SLI plugins are not supported (plugin id {pid!r}); use events or raw")
        return None
    if "events" in d:
        m = r.mapping(d["events"], f"{path}.events")
        r.known(m, f"{path}.events", {"error_query", "total_query"})
        return EventsSLI(r.str_(m, "error_query", f"{path}.events", required=True), r.str_(m, "total_query", f"{path}.events", required=True))
    if "raw" in d:
        m = r.mapping(d["raw"], f"{path}.raw")
        return RawSLI(r.str_(m, "error_ratio_query", f"{path}.raw", required=True))
    r.problem(path, "needs one of events, raw or plugin")
    return None


def _tier(r: Reader, base: AlertTier, v: Any, path: str) -> AlertTier:
    m = r.mapping(v, path)
    r.known(m, path, {"disable", "labels", "annotations"})
    return AlertTier(
        base.name,
        base.windows,
        enabled=not r.bool_(m, "disable", path),
        labels=base.labels + r.labels(m, "labels", path),
        annotations=r.labels(m, "annotations", path),
    )


def load(doc: Mapping[str, Any], r: Reader, period: Period | None = None) -> list[tuple[str, SLO]]:
    r.known(doc, "", {"version", "service", "labels", "slos"})
    service = r.str_(doc, "service", "", required=True)
    common = r.labels(doc, "labels", "")
    period = period or _PERIOD
    out = []
    for i, raw in enumerate(r.list_(doc, "slos", "")):
        path = f"slos[{i}]"
        d = r.mapping(raw, path)
        r.known(d, path, {"name", "objective", "description", "labels", "sli", "alerting"})
        name = r.str_(d, "name", path, required=True)
        pct = r.float_(d, "objective", path, required=True)
        objective = check_objective(r, f"{path}.objective", None if pct is None else ratio_from_percent(pct))
        sli = _sli(r, r.mapping(d.get("sli"), f"{path}.sli"), f"{path}.sli")
        am = r.mapping(d.get("alerting"), f"{path}.alerting")
        r.known(am, f"{path}.alerting", {"name", "labels", "annotations", "page_alert", "ticket_alert"})
        page, ticket = workbook_tiers(period.nominal_ms)
        tiers = (_tier(r, page, am.get("page_alert"), f"{path}.alerting.page_alert"),
                 _tier(r, ticket, am.get("ticket_alert"), f"{path}.alerting.ticket_alert"))
        alert_name = r.str_(am, "name", f"{path}.alerting", required=any(t.enabled for t in tiers))
        if sli is None or objective is None or not name:
            continue
        slo = SLO(
            name=name, service=service, objective=objective, sli=sli, period=period,
            description=r.str_(d, "description", path), labels=common + r.labels(d, "labels", path),
            alerting=Alerting(name=alert_name, tiers=tiers, labels=r.labels(am, "labels", f"{path}.alerting"),
                              annotations=r.labels(am, "annotations", f"{path}.alerting"),
                              no_data_for_ms=NO_DATA_FOR_MS),
            source=r.source,
        )
        check_slo(r, path, slo)
        out.append((path, slo))
    return out


def _templated(expr: str) -> str:
    return expr.replace(_PLACEHOLDER_TEXT, "{{.window}}")


def _tier_doc(t: AlertTier, base: AlertTier) -> dict[str, Any]:
    d: dict[str, Any] = {}
    if not t.enabled:
        d["disable"] = True
    default = dict(base.labels)
    extra = {k: v for k, v in dict(t.labels).items() if default.get(k) != v}
    if extra:
        d["labels"] = extra
    if t.annotations:
        d["annotations"] = dict(t.annotations)
    return d


def _sli_doc(slo: SLO) -> dict[str, Any]:
    if isinstance(slo.sli, RawSLI):
        return {"raw": {"error_ratio_query": slo.sli.error_ratio_query}}
    if isinstance(slo.sli, AvailabilitySLI):
        return {"raw": {"error_ratio_query": availability_ratio(slo, slo.sli.probe, "{{.window}}")}}
    if isinstance(slo.sli, EventsSLI):
        return {"events": {"error_query": slo.sli.error_query, "total_query": slo.sli.total_query}}
    return {"events": {"error_query": _templated(error_rate(slo, _PLACEHOLDER_MS)),
                       "total_query": _templated(total_rate(slo, _PLACEHOLDER_MS))}}


def _annotations(a: Alerting) -> dict[str, str]:
    annotations = dict(a.annotations)
    if a.runbook:
        annotations.setdefault("runbook_url", a.runbook)  # as the generated alerts carry it
    return annotations


def _alerting_doc(slo: SLO) -> dict[str, Any]:
    a = slo.alerting
    page, ticket = workbook_tiers(_PERIOD.nominal_ms)
    tiers = {t.name: t for t in a.tiers}
    docs = {b.name: _tier_doc(tiers[b.name], b) if b.name in tiers else {"disable": True} for b in (page, ticket)}
    enabled = any(not d.get("disable") for d in docs.values())
    alerting: dict[str, Any] = {"name": a.name or slo.name} if a.name or enabled else {}
    if a.labels:
        alerting["labels"] = dict(a.labels)
    if annotations := _annotations(a):
        alerting["annotations"] = annotations
    alerting["page_alert"], alerting["ticket_alert"] = docs["page"], docs["ticket"]
    return alerting


def _percent(objective: float) -> float | int:
    pct = clean_ratio(objective * 100)
    return int(pct) if pct.is_integer() else pct


def dump(slos: list[SLO]) -> list[dict[str, Any]]:
    """One ``prometheus/v1`` document per service; ``lossy`` names what it cannot say."""
    by_service: dict[str, list[dict[str, Any]]] = {}
    for slo in slos:
        d: dict[str, Any] = {"name": slo.name, "objective": _percent(slo.objective)}
        if slo.description:
            d["description"] = slo.description
        if slo.labels:
            d["labels"] = dict(slo.labels)
        d["sli"] = _sli_doc(slo)
        d["alerting"] = _alerting_doc(slo)
        by_service.setdefault(slo.service, []).append(d)
    return [{"version": VERSION, "service": svc, "slos": items} for svc, items in by_service.items()]


def _tier_losses(slo: SLO) -> list[Loss]:
    names = [t.name for t in slo.alerting.tiers]
    if sorted(names) != ["page", "ticket"]:
        return [Loss(slo.name, "alerting.tiers", (
            f"Sloth has exactly a page_alert and a ticket_alert; the tiers {names} become page and ticket "
            "(a missing one disabled, any other dropped)"))]
    out = []
    for base in workbook_tiers(_PERIOD.nominal_ms):
        t = next(t for t in slo.alerting.tiers if t.name == base.name)
        f = f"alerting.tiers.{t.name}"
        if t.windows != base.windows:
            out.append(Loss(slo.name, f"{f}.windows", "Sloth alerts use the SRE workbook's windows and factors for a 30d period"))
        if t.for_ms:
            out.append(Loss(slo.name, f"{f}.for_ms", f"Sloth has no `for` on its {t.name} alert"))
        if not set(dict(base.labels)) <= set(dict(t.labels)):
            out.append(Loss(slo.name, f"{f}.labels", f"Sloth's {t.name} alert always has the label {base.labels[0][0]}"))
    return out


def _sli_losses(slo: SLO) -> list[Loss]:
    if isinstance(slo.sli, EventsSLI | RawSLI):
        return []
    if isinstance(slo.sli, AvailabilitySLI):
        how = "a raw error ratio; long windows average it instead of counting probe samples"
    else:
        how = "events queries with {{.window}}, which generate the same rules"
    return [Loss(slo.name, "sli", f"Sloth has no {slo.sli.kind.value} SLI: written as {how}")]


def _alerting_losses(slo: SLO) -> list[Loss]:
    a, out = slo.alerting, []
    if a.min_events:
        out.append(Loss(slo.name, "alerting.min_events", f"Sloth has no minimum event count for alerts ({a.min_events} is dropped)"))
    if a.runbook:
        out.append(Loss(slo.name, "alerting.runbook", "Sloth has no runbook field: it is written as the alert annotation runbook_url"))
        if "runbook_url" not in dict(a.annotations):
            out.append(Loss(slo.name, "alerting.annotations", f"gains runbook_url={a.runbook!r} (the runbook)"))
    if a.no_data_for_ms != NO_DATA_FOR_MS:
        now = "off" if a.no_data_for_ms is None else format_duration_ms(a.no_data_for_ms)
        out.append(Loss(slo.name, "alerting.no_data_for_ms", f"Sloth has no no-data alert setting ({now} is dropped)"))
    return out + _tier_losses(slo)


def _period_text(p: Period) -> str:
    if p.calendar is not None:
        return str(p)
    day = 86_400_000
    ms = p.nominal_ms
    return f"rolling {ms // day}d" if ms % day == 0 else f"rolling {format_duration_ms(ms)}"


def lossy(slo: SLO) -> list[Loss]:
    """What a Sloth document cannot say about this SLO: each loss names the model field."""
    out = []
    if slo.period != _PERIOD:
        out.append(Loss(slo.name, "period", f"Sloth specs carry no period: {_period_text(slo.period)} reads back as "
                        f"{_period_text(_PERIOD)} (Sloth takes it from --default-slo-period)"))
    if (slo.budgeting, slo.timeslice_target, slo.timeslice_ms) != (BudgetingMethod.OCCURRENCES, None, None):
        out.append(Loss(slo.name, "budgeting", "Sloth has no timeslice budgeting"))
    if slo.grouping:
        out.append(Loss(slo.name, "grouping", f"Sloth has no grouping field: by ({', '.join(slo.grouping)}) is dropped "
                        "(generated queries keep their sum by, user queries are unchanged)"))
    return out + _sli_losses(slo) + _alerting_losses(slo)
