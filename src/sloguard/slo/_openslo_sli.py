"""OpenSLO indicators: PromQL without window templates, read and written.

OpenSLO queries have no window: a ``ratioMetric`` names counters (``counter: true``) or a
precomputed ratio (``raw`` with ``rawType``). Each SLI kind is written in the form other
OpenSLO tools understand (events and raw SLIs as counter selectors where their queries are
summed rates, latency as bucket counters). When that form reads back as another SLI (a
latency SLI reads back as a ratio), the exact SLI is kept in the indicator's annotation
``sloguard.dev/sli``, used while the queries are still the ones written for it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sloguard.durations import format_duration_ms
from sloguard.nesting import json_loads
from sloguard.slo import _spec_native
from sloguard.slo._loss import Loss
from sloguard.slo._querycheck import check_query
from sloguard.slo._reader import Reader
from sloguard.slo._sli import (
    check_latency_threshold,
    fill_window,
    has_window_placeholder,
    le_matcher,
)
from sloguard.slo._untemplate import rate_counter, ratio_counters
from sloguard.slo.model import SLI, SLO, AvailabilitySLI, EventsSLI, LatencySLI, RatioSLI, RawSLI

ANNOTATION = "sloguard.dev/sli"
#: The window of a query that only exists with one (written for tools other than sloguard).
FALLBACK_WINDOW_MS = 300_000
_THRESHOLD_OPS = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">="}


def _source(q: str) -> dict[str, Any]:
    return {"metricSource": {"type": "Prometheus", "spec": {"query": q}}}


def _fallback(slo: SLO, key: str, query: str) -> tuple[str, Loss]:
    w = format_duration_ms(FALLBACK_WINDOW_MS)
    note = Loss(slo.name, f"sli.{key}", (
        f"{query!r} is not rate(SELECTOR[{{{{.window}}}}]) summed by the SLO's grouping, so OpenSLO "
        f"cannot say it without Sloth's window template: the OpenSLO query uses a fixed {w} window "
        f"(other OpenSLO tools see that), and sloguard reads the exact query back from {ANNOTATION}"
    ), portable=True)
    return fill_window(query, FALLBACK_WINDOW_MS), note


def _counter(slo: SLO, key: str, query: str, notes: list[Loss]) -> tuple[str, bool]:
    """``query`` as a counter selector (True), or with a fixed window (False, noted)."""
    if not has_window_placeholder(query):
        return query, True
    sel = rate_counter(query, slo.grouping)
    if sel is not None:
        return sel, True
    text, note = _fallback(slo, key, query)
    notes.append(note)
    return text, False


def _ratio(counter: bool, total: str, good: str | None = None, bad: str | None = None) -> dict[str, Any]:
    rm: dict[str, Any] = {"counter": counter}
    rm.update({"bad": _source(bad)} if bad is not None else {"good": _source(good or "")})
    rm["total"] = _source(total)
    return {"ratioMetric": rm}


def _ratio_spec(slo: SLO, sli: RatioSLI, notes: list[Loss]) -> dict[str, Any]:
    total, c1 = _counter(slo, "ratio.total", sli.total, notes)
    key, query = ("bad", sli.bad) if sli.bad else ("good", sli.good or "")
    num, c2 = _counter(slo, f"ratio.{key}", query, notes)
    return _ratio(c1 and c2, total, **{key: num})


def _events_spec(slo: SLO, sli: EventsSLI, notes: list[Loss]) -> dict[str, Any]:
    bad, total = rate_counter(sli.error_query, slo.grouping), rate_counter(sli.total_query, slo.grouping)
    if bad is not None and total is not None:
        return _ratio(True, total, bad=bad)
    bad_q, n1 = _fallback(slo, "events.error_query", sli.error_query)
    total_q, n2 = _fallback(slo, "events.total_query", sli.total_query)
    notes.extend(n for n, ok in ((n1, bad), (n2, total)) if ok is None)
    return _ratio(False, total_q, bad=bad_q)


def _raw_spec(slo: SLO, sli: RawSLI, notes: list[Loss]) -> dict[str, Any]:
    q = sli.error_ratio_query
    if has_window_placeholder(q):
        counters = ratio_counters(q, slo.grouping)
        if counters is not None:
            num, total, good = counters
            return _ratio(True, total, good=num) if good else _ratio(True, total, bad=num)
        q, note = _fallback(slo, "raw.error_ratio_query", q)
        notes.append(note)
    return {"ratioMetric": {"rawType": "failure", "raw": _source(q.strip())}}


def _latency_spec(slo: SLO, sli: LatencySLI, notes: list[Loss]) -> dict[str, Any]:
    sel = f"{sli.selector}, " if sli.selector else ""
    le = sli.threshold
    bounds = check_latency_threshold(sli) if sli.estimate else None
    if bounds is not None:
        le = bounds[0] if bounds[0] > 0 else bounds[1]
        notes.append(Loss(slo.name, "sli.latency.threshold", (
            f"{sli.threshold:g}s is estimated between buckets; the OpenSLO good query counts the "
            f"{le:g}s bucket, and sloguard reads the estimate back from {ANNOTATION}"), portable=True))
    total = f"{sli.metric}_count{{{sli.selector}}}" if sli.selector else f"{sli.metric}_count"
    return _ratio(True, total, good=f"{sli.metric}_bucket{{{sel}{le_matcher(le)}}}")


def indicator_spec(slo: SLO) -> tuple[dict[str, Any], list[Loss]]:
    """The OpenSLO ``SLI.spec`` for the SLO's SLI, and notes on what only sloguard reads exactly."""
    notes: list[Loss] = []
    sli = slo.sli
    if isinstance(sli, AvailabilitySLI):
        return {"thresholdMetric": _source(sli.probe)}, notes
    if isinstance(sli, RatioSLI):
        return _ratio_spec(slo, sli, notes), notes
    if isinstance(sli, EventsSLI):
        return _events_spec(slo, sli, notes), notes
    if isinstance(sli, RawSLI):
        return _raw_spec(slo, sli, notes), notes
    return _latency_spec(slo, sli, notes), notes


def objective_fields(sli: SLI) -> dict[str, Any]:
    """``op``/``value`` of the objective: a 0/1 probe is good when at least 1."""
    return {"op": "gte", "value": 1} if isinstance(sli, AvailabilitySLI) else {}


def indicator(slo: SLO) -> dict[str, Any]:
    """The inline indicator (``metadata`` and ``spec``), annotated when needed to read back exactly."""
    spec, _ = indicator_spec(slo)
    meta: dict[str, Any] = {"name": f"{slo.name}-sli"}
    plain = read_spec(Reader(""), spec, "", objective_fields(slo.sli))
    if plain != slo.sli:
        meta["annotations"] = {ANNOTATION: json.dumps(_spec_native.sli_doc(slo.sli))}
    return {"metadata": meta, "spec": spec}


def _query(r: Reader, m: Any, path: str, *, counter: bool = True) -> str:
    src = r.mapping(r.mapping(m, path).get("metricSource"), f"{path}.metricSource")
    typ = r.str_(src, "type", f"{path}.metricSource", default="Prometheus")
    if typ.lower() != "prometheus":
        r.problem(f"{path}.metricSource.type", f"unsupported metric source {typ!r} (only Prometheus)")
    spec = r.mapping(src.get("spec"), f"{path}.metricSource.spec")
    key = "query" if "query" in spec or "promql" not in spec else "promql"
    q = spec.get(key)
    if not isinstance(q, str) or not q.strip():
        r.problem(f"{path}.metricSource.spec.{key}", "is required")
        return ""
    check_query(r, f"{path}.metricSource.spec.{key}", q, counter=counter)
    return q.strip()


def _read_raw(r: Reader, rm: Mapping[str, Any], p: str) -> SLI | None:
    q = _query(r, rm["raw"], f"{p}.raw", counter=False)
    kind = rm.get("rawType")
    if kind not in ("success", "failure"):
        r.problem(f"{p}.rawType", f"expected success or failure with raw, got {kind!r}")
        return None
    return RawSLI(q if kind == "failure" else f"1 - ({q})")


def _read_ratio(r: Reader, rm: Mapping[str, Any], p: str) -> SLI | None:
    if "raw" in rm:
        return _read_raw(r, rm, p)
    counter = rm.get("counter", True) is not False  # counter: false holds rates, not counters
    total = _query(r, rm.get("total"), f"{p}.total", counter=counter) if "total" in rm else ""
    if not total:
        r.problem(f"{p}.total", "is required")
    good = _query(r, rm["good"], f"{p}.good", counter=counter) if "good" in rm else None
    bad = _query(r, rm["bad"], f"{p}.bad", counter=counter) if "bad" in rm else None
    if bool(good) == bool(bad):
        r.problem(p, "needs exactly one of good or bad, beside total")
    return RatioSLI(total=total, good=good, bad=bad)


def read_spec(r: Reader, spec: Mapping[str, Any], path: str, objective: Mapping[str, Any]) -> SLI | None:
    """The SLI an OpenSLO ``SLI.spec`` says, without sloguard's annotation."""
    p = f"{path}.ratioMetric" if path else "ratioMetric"
    if "ratioMetric" in spec:
        return _read_ratio(r, r.mapping(spec["ratioMetric"], p), p)
    if "thresholdMetric" in spec:
        q = _query(r, spec["thresholdMetric"], f"{path}.thresholdMetric", counter=False)
        op = str(objective.get("op", "lte"))
        if op not in _THRESHOLD_OPS or "value" not in objective:
            r.problem(f"{path}.objectives", "a thresholdMetric SLI needs op (lt, lte, gt, gte) and value in its objective")
            return None
        value = r.float_(objective, "value", f"{path}.objectives")
        if value is None:
            return None
        if op == "gte" and value == 1.0:
            return AvailabilitySLI(q)  # ">= 1" on a 0/1 probe is the probe itself
        return AvailabilitySLI(f"(({q}) {_THRESHOLD_OPS[op]} bool {objective['value']})")
    r.problem(path, "needs ratioMetric or thresholdMetric")
    return None


def exact_sli(annotations: Mapping[str, Any], spec: Mapping[str, Any], slo: SLO) -> SLI:
    """The annotated SLI when the file's queries are still those written for it, else ``slo.sli``."""
    text = annotations.get(ANNOTATION)
    if not isinstance(text, str):
        return slo.sli
    try:
        doc = json_loads(text)
    except ValueError:
        return slo.sli
    r = Reader("")
    sli = _spec_native.read_sli(r, r.mapping(doc, ""), "") if isinstance(doc, Mapping) else None
    if sli is None or r.problems:
        return slo.sli
    return sli if indicator_spec(replace(slo, sli=sli))[0] == dict(spec) else slo.sli
