"""Explore (``/graph``): Prometheus' expression browser at its own path and with its own URL
parameters (see ``_graph_state``), so an alert's ``generatorURL`` and a link pasted from
Prometheus open the same view.

Each panel's query goes through the API in-process (``/api/v1/query`` for the table,
``/api/v1/query_range`` for the graph) and the page carries the answer: the table rendered,
the matrix embedded as JSON for the browser's chart, an API error (``parse error ...``)
shown in place. The browser's script sends the form with ``fetch`` and swaps the panels,
so a bad query is a normal page, never a failed request. ``/classic/graph``,
``/new/graph`` and ``/query`` (Prometheus 3's path) redirect here with their parameters.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from sloguard.ui._api import api_get
from sloguard.ui._graph_state import (
    RANGE_PRESETS,
    Panel,
    apply_actions,
    canonical_url,
    format_range,
    format_time,
    has_actions,
    parse_panels,
)
from sloguard.ui._render import render

#: Rows the table shows (the count says how many there are).
MAX_ROWS = 1000
#: Values shown per series of a range-vector result in the table.
MAX_VALUES = 20
#: Series a graph draws (more would freeze the browser; the count says how many there are).
MAX_GRAPH_SERIES = 500


@dataclass(frozen=True, slots=True)
class PanelResult:
    """What one panel shows: the API's ``data`` or ``error``, table rows, the graph's matrix."""

    panel: Panel
    ran: bool = False
    error: str = ""
    result_type: str = ""
    rows: list[dict[str, Any]] = field(default_factory=list)
    count: int = 0
    took_ms: float = 0.0
    at: float = 0.0
    start: float = 0.0
    step: float = 0.0
    matrix: list[Any] | None = None


def series_name(metric: Mapping[str, str]) -> str:
    """``name{a="1", b="2"}`` as Prometheus' table shows a series (``{}`` when empty)."""
    name = metric.get("__name__", "")
    inner = ", ".join(f'{k}="{v}"' for k, v in sorted(metric.items()) if k != "__name__")
    return name + ("{" + inner + "}" if inner or not name else "")


def _sample_text(sample: Mapping[str, Any]) -> str:
    if "histogram" in sample:
        h = sample["histogram"][1]
        return f"histogram count={h.get('count')} sum={h.get('sum')}"
    return str(sample.get("value", ["", ""])[1])


def table_rows(result_type: str, result: Any) -> list[dict[str, Any]]:
    """``[{series, value, values?}]`` for an instant query's result."""
    if result_type in ("scalar", "string"):
        return [{"series": result_type, "value": str(result[1]), "values": None}]
    rows: list[dict[str, Any]] = []
    for s in result[:MAX_ROWS]:
        if result_type == "matrix":
            vals = [{"value": v[1], "time": v[0]} for v in s.get("values", [])[-MAX_VALUES:]]
            rows.append({"series": series_name(s.get("metric", {})), "value": "", "values": vals})
        else:
            rows.append({"series": series_name(s.get("metric", {})), "value": _sample_text(s), "values": None})
    return rows


async def run_panel(request: Request, p: Panel, now: float) -> PanelResult:
    """The panel's query through the API: instant for the table, range for the graph."""
    if not p.expr.strip():
        return PanelResult(p)
    t0 = time.perf_counter()
    if p.tab == "graph":
        start, end = p.window(now)
        step = p.step_for()
        got = await api_get(request, "/api/v1/query_range",
                            {"query": p.expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"})
        took = (time.perf_counter() - t0) * 1000
        if not got.ok:
            return PanelResult(p, True, got.error, took_ms=took, at=end, start=start, step=step)
        result = got.data.get("result") or []
        return PanelResult(p, True, result_type=got.data.get("resultType", ""), count=len(result),
                           took_ms=took, at=end, start=start, step=step, matrix=result[:MAX_GRAPH_SERIES])
    at = p.end if p.end is not None else now
    got = await api_get(request, "/api/v1/query", {"query": p.expr, "time": f"{at:.3f}"})
    took = (time.perf_counter() - t0) * 1000
    if not got.ok:
        return PanelResult(p, True, got.error, took_ms=took, at=at)
    kind, result = got.data.get("resultType", ""), got.data.get("result")
    count = len(result) if kind in ("vector", "matrix") else 1
    return PanelResult(p, True, result_type=kind, rows=table_rows(kind, result), count=count, took_ms=took, at=at)


def _multi(request: Request) -> dict[str, list[str]]:
    q = request.query_params
    return {k: q.getlist(k) for k in q}


def chart_data(r: PanelResult) -> dict[str, Any]:
    """The JSON the browser's chart reads."""
    return {"ok": r.ran and not r.error, "result": r.matrix or [], "stacked": r.panel.stacked,
            "start": r.start, "end": r.at, "step": r.step, "live": r.panel.end is None}


async def graph_page(request: Request) -> Response:
    params: Mapping[str, Sequence[str]] = _multi(request)
    now = time.time()
    state = parse_panels(params)
    if has_actions(params):
        state = apply_actions(state, params, now)
        return RedirectResponse(canonical_url(state.panels), status_code=303)
    results = [await run_panel(request, p, now) for p in state.panels]
    return render(request, "graph.html", nav="/graph", title="Explore", results=results, problems=state.problems,
                  canonical=canonical_url(state.panels), presets=RANGE_PRESETS, chart_data=chart_data,
                  format_range=format_range, format_time=format_time, max_rows=MAX_ROWS, max_series=MAX_GRAPH_SERIES,
                  live=any(r.panel.end is None and r.ran for r in results))


async def graph_redirect(request: Request) -> Response:
    """``/classic/graph``, ``/new/graph``, ``/query``: the same view at ``/graph``."""
    query = request.url.query
    return RedirectResponse("/graph" + (f"?{query}" if query else ""), status_code=302)
