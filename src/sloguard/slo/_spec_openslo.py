"""OpenSLO v1: Service, SLI, SLO, AlertPolicy, AlertCondition and AlertNotificationTarget.

What OpenSLO has no field for is kept in annotations of the SLO (``sloguard.dev/grouping``,
``sloguard.dev/min-events``, ``sloguard.dev/runbook``, ``sloguard.dev/no-data-for``,
``sloguard.dev/query-backend``) and of
its indicator (``sloguard.dev/sli``); alerting is in ``_openslo_alerts``, indicators in
``_openslo_sli``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sloguard.slo import _openslo_alerts as alerts
from sloguard.slo import _openslo_sli as sli_
from sloguard.slo._calendar_spec import OPENSLO_CALENDAR, checked_timezone
from sloguard.slo._loss import Loss
from sloguard.slo._reader import Reader
from sloguard.slo._validate import check_name, check_objective, check_slo
from sloguard.slo.model import (
    SLO,
    Alerting,
    BudgetingMethod,
    CalendarUnit,
    Period,
    clean_ratio,
    ratio_from_percent,
)

API_VERSION = alerts.API_VERSION
GROUPING = "sloguard.dev/grouping"
MIN_EVENTS = "sloguard.dev/min-events"
RUNBOOK = "sloguard.dev/runbook"
NO_DATA = "sloguard.dev/no-data-for"
QUERY_BACKEND = "sloguard.dev/query-backend"
#: The no-data ``for`` of an SLO whose policies have ``alertWhenNoData: true`` (and no annotation).
NO_DATA_WHEN_ASKED_MS = 600_000
#: ... and of an SLO whose policies do not ask for it.
NO_DATA_DEFAULT_MS: int | None = Alerting().no_data_for_ms
_OFF = ("off", "false")


def _period(r: Reader, windows: list[Any], path: str) -> Period:
    if len(windows) != 1:
        r.problem(path, "exactly one timeWindow is supported")
        return Period()
    m = r.mapping(windows[0], f"{path}[0]")
    dur = str(m.get("duration", "30d"))
    if r.bool_(m, "isRolling", f"{path}[0]", default="calendar" not in m):
        ms = r.duration(m, "duration", f"{path}[0]", required=True)
        return Period(rolling_ms=ms) if ms else Period()
    cal = r.mapping(m.get("calendar"), f"{path}[0].calendar")
    units = {"1w": CalendarUnit.WEEK, "1M": CalendarUnit.MONTH, "1mo": CalendarUnit.MONTH, "1Q": CalendarUnit.QUARTER}
    if dur not in units:
        r.problem(f"{path}[0].duration", f"calendar windows support 1w, 1M or 1Q, got {dur!r}")
        return Period()
    return Period(rolling_ms=None, calendar=units[dur], timezone=checked_timezone(r, cal, "timeZone", f"{path}[0].calendar"))


def no_data_for(asked: bool) -> int | None:
    """The no-data ``for`` of an SLO without a ``sloguard.dev/no-data-for`` annotation whose
    policies do (``asked``) or do not have ``alertWhenNoData: true``."""
    return NO_DATA_WHEN_ASKED_MS if asked else NO_DATA_DEFAULT_MS


def _settings(r: Reader, meta: Mapping[str, Any], path: str, asked: bool) -> dict[str, Any]:
    """``grouping``, ``min_events``, ``runbook``, ``no_data_for_ms`` from the SLO's annotations."""
    p = f"{path}metadata.annotations"
    ann = r.mapping(meta.get("annotations"), p)
    grouping = tuple(g.strip() for g in r.str_(ann, GROUPING, p).split(",") if g.strip())
    n = r.float_(ann, MIN_EVENTS, p) or 0
    if n != int(n) or n < 0:
        r.problem(f"{p}.{MIN_EVENTS}", f"expected a whole number of events, got {ann[MIN_EVENTS]!r}")
    text = ann.get(NO_DATA)
    if text is None:
        no_data = no_data_for(asked)
    else:
        no_data = None if str(text).lower() in _OFF else r.duration(ann, NO_DATA, p, required=True)
    return {"grouping": grouping, "min_events": int(n), "runbook": r.str_(ann, RUNBOOK, p), "no_data": no_data,
            "query_backend": r.str_(ann, QUERY_BACKEND, p)}


def _objective(r: Reader, om: Mapping[str, Any], path: str) -> float | None:
    target = r.float_(om, "target", path)
    if target is None and "targetPercent" in om:
        target = ratio_from_percent(r.float_(om, "targetPercent", path) or 0)
    return check_objective(r, f"{path}.target", None if target is None else clean_ratio(target))


def _indicator(r: Reader, spec: Mapping[str, Any], refs: alerts.Refs, path: str,
               ref_paths: Mapping[tuple[str, str], str]) -> tuple[Mapping[str, Any], str]:
    """The inline indicator, or the SLI document it references, with the path its problems
    are reported at (that document's own path)."""
    ind, ipath = spec.get("indicator"), f"{path}spec.indicator"
    if ind is None and "indicatorRef" in spec:
        key = ("SLI", str(spec["indicatorRef"]))
        ind = refs.get(key)
        if ind is None:
            r.problem(f"{path}spec.indicatorRef", f"no SLI document named {spec['indicatorRef']!r}")
        ipath = ref_paths.get(key, "").rstrip(".")
    return r.mapping(ind, ipath), ipath


def _load_one(r: Reader, doc: Mapping[str, Any], refs: alerts.Refs, path: str,
              ref_paths: Mapping[tuple[str, str], str]) -> list[SLO]:
    """The SLO document's SLOs: one per objective. Several objectives (OpenSLO allows them
    over a ratioMetric: the same SLI held to several targets, say an internal one and the SLA)
    become SLOs named ``NAME-0``, ``NAME-1``... as Sloth names them; one keeps ``NAME``."""
    meta, spec = r.mapping(doc.get("metadata"), f"{path}metadata"), r.mapping(doc.get("spec"), f"{path}spec")
    mark = r.mark()
    name = r.str_(meta, "name", f"{path}metadata", required=True)
    check_name(r, f"{path}metadata.name", name)
    service = r.str_(spec, "service", f"{path}spec", required=True)
    objectives = r.list_(spec, "objectives", f"{path}spec")
    if not objectives:
        r.problem(f"{path}spec.objectives", "at least one objective is required")
        return []
    ind, ipath = _indicator(r, spec, refs, path, ref_paths)
    ispec_path = f"{ipath}.spec" if ipath else "spec"
    ispec = r.mapping(ind.get("spec"), ispec_path)
    if len(objectives) > 1 and "thresholdMetric" in ispec:
        r.problem(f"{path}spec.objectives", f"a thresholdMetric SLI has exactly one objective (OpenSLO), got {len(objectives)}")
        return []
    for i, o in enumerate(objectives):
        if isinstance(o, Mapping) and ("indicator" in o or "indicatorRef" in o):
            r.problem(f"{path}spec.objectives[{i}].{'indicator' if 'indicator' in o else 'indicatorRef'}",
                      "composite SLOs (an indicator per objective) are not supported; write one SLO per indicator")
    if r.errors_since(mark) or not name:
        return []
    out = []
    for i, o in enumerate(objectives):
        own = name if len(objectives) == 1 else f"{name}-{i}"
        if len(objectives) > 1:
            check_name(r, f"{path}spec.objectives[{i}]", own)
        r.declare(f"{path}metadata", service, own)
        shared = r if i == 0 else Reader(r.source)  # what all objectives share is reported once
        slo = _objective_slo((r, shared), meta, spec, (ind, ipath, ispec), refs,
                             (path, f"{path}spec.objectives[{i}]"), o, own)
        if slo is not None:
            out.append(slo)
    return out


def _objective_slo(readers: tuple[Reader, Reader], meta: Mapping[str, Any], spec: Mapping[str, Any],
                   indicator: tuple[Mapping[str, Any], str, Mapping[str, Any]], refs: alerts.Refs,
                   paths: tuple[str, str], objective: Any, name: str) -> SLO | None:
    """The SLO of one objective (at ``paths[1]``) of the document at ``paths[0]``; problems of
    the objective go to ``readers[0]``, those of what every objective shares to ``readers[1]``."""
    (r, shared), (path, op), (ind, ipath, ispec) = readers, paths, indicator
    mark, shared_mark = r.mark(), shared.mark()
    service = shared.str_(spec, "service", f"{path}spec", required=True)
    om = r.mapping(objective, op)
    objective_ratio = _objective(r, om, op)
    ispec_path = f"{ipath}.spec" if ipath else "spec"
    sli = sli_.read_spec(shared, ispec, ispec_path, om)
    period = _period(shared, shared.list_(spec, "timeWindow", f"{path}spec"), f"{path}spec.timeWindow")
    method = str(spec.get("budgetingMethod", "Occurrences"))
    if method not in ("Occurrences", "Timeslices"):
        shared.problem(f"{path}spec.budgetingMethod", f"unsupported budgeting method {method!r} (Occurrences or Timeslices)")
    ts = method == "Timeslices"
    ad = alerts.read(shared, shared.list_(spec, "alertPolicies", f"{path}spec"), refs, f"{path}spec.alertPolicies", name)
    st = _settings(shared, meta, path, ad.no_data)
    if sli is None or objective_ratio is None or r.errors_since(mark) or shared.errors_since(shared_mark):
        return None
    slo = SLO(
        name=name, service=service, objective=objective_ratio,
        sli=sli, period=period, description=r.str_(spec, "description", f"{path}spec"),
        budgeting=BudgetingMethod.TIMESLICES if ts else BudgetingMethod.OCCURRENCES,
        timeslice_target=r.float_(om, "timeSliceTarget", op) if ts else None,
        timeslice_ms=r.duration(om, "timeSliceWindow", op) if ts else None,
        grouping=st["grouping"], labels=r.labels(meta, "labels", f"{path}metadata"),
        alerting=Alerting(name=ad.name, tiers=alerts.tiers_or_default(ad, period), labels=ad.labels,
                          annotations=ad.annotations, runbook=st["runbook"], min_events=st["min_events"],
                          no_data_for_ms=st["no_data"]),
        source=r.source, query_backend=st["query_backend"],
    )
    imeta = r.mapping(ind.get("metadata"), f"{ipath}.metadata" if ipath else "metadata")
    slo = replace(slo, sli=sli_.exact_sli(r.mapping(imeta.get("annotations"), ""), ispec, slo))
    check_slo(r, f"{path}spec.indicator", slo)
    return None if r.errors_since(mark) else slo


def _doc_path(i: int, n: int) -> str:
    return f"documents[{i}]." if n > 1 else ""


def load(docs: list[Mapping[str, Any]], r: Reader) -> list[tuple[str, SLO]]:
    """The valid SLOs of the SLO documents (others are referenced by kind and name); problems
    of every SLO go to ``r``, at ``documents[i].`` paths when the file has several documents."""
    refs = {(str(d.get("kind")), str(r.mapping(d.get("metadata"), "metadata").get("name"))): d
            for d in docs if d.get("kind") != "SLO"}
    ref_paths = {(str(d.get("kind")), str(r.mapping(d.get("metadata"), "metadata").get("name"))): _doc_path(i, len(docs))
                 for i, d in enumerate(docs) if d.get("kind") != "SLO"}
    out = []
    for i, doc in enumerate(docs):
        path = _doc_path(i, len(docs))
        if doc.get("kind") == "SLO":
            out += [(f"{path}metadata", slo) for slo in _load_one(r, doc, refs, path, ref_paths)]
    return out


def _time_window(p: Period) -> dict[str, Any]:
    if p.calendar is None:
        return {"duration": alerts.shorthand(p.nominal_ms), "isRolling": True}
    start = "2024-01-01 00:00:00"  # a Monday, the first of a month and of a quarter
    return {"duration": OPENSLO_CALENDAR[p.calendar], "isRolling": False,
            "calendar": {"startTime": start, "timeZone": p.timezone}}


def _annotations(slo: SLO) -> dict[str, str]:
    a, out = slo.alerting, {}
    if slo.grouping:
        out[GROUPING] = ",".join(slo.grouping)
    if a.min_events:
        out[MIN_EVENTS] = str(a.min_events)
    if a.runbook:
        out[RUNBOOK] = a.runbook
    if no_data_for(a.no_data_for_ms is not None and bool(a.tiers)) != a.no_data_for_ms:
        out[NO_DATA] = "off" if a.no_data_for_ms is None else alerts.shorthand(a.no_data_for_ms)
    if slo.query_backend:
        out[QUERY_BACKEND] = slo.query_backend
    return out


def _objective_doc(slo: SLO) -> dict[str, Any]:
    obj: dict[str, Any] = {"target": clean_ratio(slo.objective), **sli_.objective_fields(slo.sli)}
    if slo.budgeting is BudgetingMethod.TIMESLICES:
        obj["timeSliceTarget"] = slo.timeslice_target
        obj["timeSliceWindow"] = alerts.shorthand(slo.timeslice_ms or 60_000)
    return obj


def _slo_doc(slo: SLO, policies: list[dict[str, str]]) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": slo.name}
    if slo.labels:
        meta["labels"] = dict(slo.labels)
    if ann := _annotations(slo):
        meta["annotations"] = ann
    spec: dict[str, Any] = {"service": slo.service}
    if slo.description:
        spec["description"] = slo.description
    spec.update(indicator=sli_.indicator(slo), timeWindow=[_time_window(slo.period)],
                budgetingMethod=slo.budgeting.value, objectives=[_objective_doc(slo)])
    if policies:
        spec["alertPolicies"] = policies
    return {"apiVersion": API_VERSION, "kind": "SLO", "metadata": meta, "spec": spec}


def dump(slos: list[SLO]) -> list[dict[str, Any]]:
    """A Service per service, then per SLO its SLO document and its alert documents."""
    docs: list[dict[str, Any]] = [
        {"apiVersion": API_VERSION, "kind": "Service", "metadata": {"name": svc}, "spec": {}}
        for svc in dict.fromkeys(s.service for s in slos)
    ]
    for slo in slos:
        alert_docs, policies = alerts.documents(slo)
        docs.append(_slo_doc(slo, policies))
        docs.extend(alert_docs)
    return docs


def lossy(slo: SLO) -> list[Loss]:
    """What OpenSLO (with sloguard's annotations) cannot say about this SLO, and what other
    OpenSLO tools see only approximately (``portable``)."""
    out = list(sli_.indicator_spec(slo)[1])
    a = slo.alerting
    if not a.tiers:
        out.append(Loss(slo.name, "alerting.tiers", "an SLO without alert tiers reads back with the workbook's tiers"))
    for t in a.tiers:
        if t.windows and "severity" not in dict(t.labels):
            out.append(Loss(slo.name, f"alerting.tiers.{t.name}.labels",
                            f"OpenSLO alert conditions need a severity: the tier's alerts gain severity={t.name!r}"))
        elif not t.windows and "severity" in dict(t.labels):
            out.append(Loss(slo.name, f"alerting.tiers.{t.name}.labels",
                            "a tier without burn windows has no AlertCondition to carry its severity label"))
    return out
