"""OpenSLO ``v1alpha`` SLO documents, as Sloth reads them.

Each objective is one SLO named ``<metadata.name>-<index>`` (Sloth's names, so its
dashboards find them), with ``ratioMetrics`` good and total queries (``{{.window}}``
templated rates or counter selectors) and a rolling window of ``count`` days or weeks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sloguard.slo._querycheck import check_query
from sloguard.slo._reader import Reader
from sloguard.slo._validate import check_name, check_objective, check_slo
from sloguard.slo.model import SLO, Alerting, Period, RatioSLI, workbook_tiers

API_VERSION = "openslo/v1alpha"
_UNIT_MS = {"day": 86_400_000, "week": 7 * 86_400_000}


def _period(r: Reader, windows: list[Any], path: str) -> Period | None:
    if not windows:
        return Period()
    if len(windows) > 1:
        r.problem(path, f"only one time window is supported, got {len(windows)}")
        return None
    m = r.mapping(windows[0], f"{path}[0]")
    unit = r.str_(m, "unit", f"{path}[0]", required=True)
    count = r.float_(m, "count", f"{path}[0]", required=True)
    if unit and unit.lower() not in _UNIT_MS:
        r.problem(f"{path}[0].unit", f"unsupported time window unit {unit!r} (Day or Week)")
        return None
    if count is None or not unit:
        return None
    if count <= 0 or count != int(count):
        r.problem(f"{path}[0].count", f"expected a positive whole number, got {count:g}")
        return None
    return Period(rolling_ms=int(count) * _UNIT_MS[unit.lower()])


def _metric(r: Reader, rm: Mapping[str, Any], key: str, path: str) -> str:
    p = f"{path}.{key}"
    m = r.mapping(rm.get(key), p)
    if key not in rm:
        r.problem(p, "is required")
        return ""
    source, qtype = r.str_(m, "source", p, required=True), r.str_(m, "queryType", p, required=True)
    if source and source.lower() not in ("prometheus", "sloth"):
        r.problem(f"{p}.source", f"unsupported source {source!r} (prometheus or sloth)")
    if qtype and qtype.lower() != "promql":
        r.problem(f"{p}.queryType", f"unsupported query type {qtype!r} (promql)")
    q = r.str_(m, "query", p, required=True)
    check_query(r, f"{p}.query", q, counter=True)
    return q.strip()


def _objective(r: Reader, raw: Any, path: str, base: str, service: str, period: Period | None,
               description: str) -> SLO | None:
    mark = r.mark()
    om = r.mapping(raw, path)
    name = f"{base}-{path.rsplit('[', 1)[1].rstrip(']')}"
    r.declare(path, service, name, "metadata.name")
    objective = check_objective(r, f"{path}.target", r.float_(om, "target", path, required=True))
    if "ratioMetrics" not in om:
        r.problem(f"{path}.ratioMetrics", "is required (only ratio objectives are supported)")
        return None
    rm = r.mapping(om["ratioMetrics"], f"{path}.ratioMetrics")
    good = _metric(r, rm, "good", f"{path}.ratioMetrics")
    total = _metric(r, rm, "total", f"{path}.ratioMetrics")
    if objective is None or period is None or r.errors_since(mark):
        return None
    slo = SLO(name=name, service=service, objective=objective, sli=RatioSLI(total=total, good=good), period=period,
              description=str(description),
              alerting=Alerting(name=name, tiers=workbook_tiers(period.nominal_ms)), source=r.source)
    check_slo(r, f"{path}.ratioMetrics", slo)
    return None if r.errors_since(mark) else slo


def load(doc: Mapping[str, Any], r: Reader) -> list[tuple[str, SLO]]:
    """The valid SLOs of one document (one per objective); problems go to ``r``."""
    if doc.get("kind") != "SLO":
        r.problem("kind", f"expected kind SLO in an {API_VERSION} document, got {doc.get('kind')!r}")
        return []
    mark = r.mark()
    meta, spec = r.mapping(doc.get("metadata"), "metadata"), r.mapping(doc.get("spec"), "spec")
    base = r.str_(meta, "name", "metadata", required=True)
    check_name(r, "metadata.name", base)
    service = r.str_(spec, "service", "spec", required=True)
    check_name(r, "spec.service", service)
    period = _period(r, r.list_(spec, "timeWindows", "spec"), "spec.timeWindows")
    description = r.str_(spec, "description", "spec")
    objectives = r.list_(spec, "objectives", "spec")
    if not objectives:
        r.problem("spec.objectives", "at least one objective is required")
    doc_ok = not r.errors_since(mark)
    out = []
    for i, raw in enumerate(objectives):
        slo = _objective(r, raw, f"spec.objectives[{i}]", base, service, period, description)
        if slo is not None and doc_ok:
            out.append((r.full(f"spec.objectives[{i}]"), slo))
    return out
