"""The overview's budgets from the series the SLO rules record, a few queries for every SLO.

Computing each SLO's budget on request (``/api/v1/slos``) costs about ten PromQL queries
per SLO, a minute and more for a thousand SLOs; the rules already record the same
figures (``slo.rulegen``, the budget group every 5m and the ratio records every cycle).
So the overview asks ``/api/v1/slos?budgets=false`` for the specs and alerts and
``/api/v1/query`` for:

* ``slo:error_budget_remaining:ratio``: the budget left;
* ``slo:period_burn_rate:ratio``: the period's error ratio over the error budget, so the
  SLI is ``1 - period burn x budget``;
* ``slo:sli_error:ratio_rate<W>`` for W in 5m, 1h, 6h, 1d: burn rates (ratio / budget);
* ``slo:info``: which SLOs' rules have run, asked only when some SLO has neither a budget
  record nor a computed budget (the budget group's records are read with
  ``last_over_time`` over ``BUDGET_LOOKBACK``, as they are written every 5m).

An SLO without a budget record (its rules have not run yet, their first run saw no
recorded rates yet, or it has no data) has its budget computed by
``/api/v1/slos/{name}``, up to ``FALLBACK_MAX`` of them, each kept as long as a budget record
(``ui._fallback``); past that its row says "no data" (or "not evaluated yet" when its rules
have not run). The answers are indexed by SLO in one pass, so building the rows costs the
same for every SLO whatever their number.

The result has ``/api/v1/slos``' shape (``budgets[]`` with ``labels``, ``sli``,
``errorBudget.remainingRatio``, ``burnRates``, ``status``, ``alerts``), so the rows are
built the same way either way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from starlette.requests import Request

from sloguard.slo.report import alerts_of_row
from sloguard.ui._api import ApiResult, api_get
from sloguard.ui._fallback import FallbackCache

#: SLOs without a budget record whose budgets are computed one by one (each costs about ten queries).
FALLBACK_MAX = 20
#: The burn windows the overview compares (those of ``/api/v1/slos``).
WINDOWS = ("5m", "1h", "6h", "1d")
#: The budget group runs every 5m: its latest sample may be older than a query's lookback.
BUDGET_LOOKBACK = "11m"
QUERIES = {
    "remaining": f"last_over_time(slo:error_budget_remaining:ratio[{BUDGET_LOOKBACK}])",
    "period_burn": f"last_over_time(slo:period_burn_rate:ratio[{BUDGET_LOOKBACK}])",
    "ratios": '{__name__=~"slo:sli_error:ratio_rate(' + "|".join(WINDOWS) + ')"}',
    "info": f"last_over_time(slo:info[{BUDGET_LOOKBACK}])",
}

#: Grouping label values of one row, e.g. ``(("route", "/a"),)``.
RowKey = tuple[tuple[str, str], ...]
#: One query's samples: SLO name -> row -> ``[(metric name, value)]``.
Recorded = dict[str, dict[RowKey, list[tuple[str, float]]]]


def _values(result: ApiResult, groupings: Mapping[str, Sequence[str]]) -> Recorded:
    """Each recorded sample by SLO and grouping label values (one pass, no per-SLO scan)."""
    out: Recorded = {}
    for s in (result.data or {}).get("result", []) if result.ok else []:
        metric = s.get("metric", {})
        slo = str(metric.get("slo", ""))
        grouping = groupings.get(slo)
        if grouping is not None:
            key = tuple((g, str(metric.get(g, ""))) for g in grouping)
            out.setdefault(slo, {}).setdefault(key, []).append((str(metric.get("__name__", "")), float(s["value"][1])))
    return out


def _budget(slo: Mapping[str, Any], got: Mapping[str, Recorded], key: RowKey) -> dict[str, Any]:
    name, eb = str(slo["name"]), float(slo.get("errorBudget") or 0) or 1.0

    def samples(query: str) -> list[tuple[str, float]]:
        return got[query].get(name, {}).get(key, [])

    remaining = next((v for _, v in samples("remaining") if math.isfinite(v)), None)  # NaN: 0/0, no traffic
    period_burn = next((v for _, v in samples("period_burn") if math.isfinite(v)), None)
    burns = {metric.removeprefix("slo:sli_error:ratio_rate"): v / eb for metric, v in samples("ratios")}
    status = "no data" if remaining is None else ("ok" if remaining > 0 else "exhausted")
    labels = dict(key)
    return {
        "labels": labels, "status": status, "sli": None if period_burn is None else 1 - period_burn * eb,
        "errorBudget": {"remainingRatio": remaining},
        "burnRates": [{"window": w, "burnRate": burns[w]} for w in WINDOWS if w in burns],
        "alerts": alerts_of_row(slo.get("alerts", []), slo.get("grouping", []), labels),
    }


def with_budgets(slo: Mapping[str, Any], got: Mapping[str, Recorded]) -> dict[str, Any]:
    """The SLO with ``budgets`` from the recorded series: one per grouping label set that
    has a budget record, or one "no data" row."""
    keys = sorted(got["remaining"].get(str(slo["name"]), {}))
    return {**slo, "budgets": [_budget(slo, got, k) for k in keys or [()]]}


def fallbacks(request: Request) -> FallbackCache:
    """The app's cache of budgets computed on request (made on first use)."""
    cache = getattr(request.app.state, "ui_fallbacks", None)
    if not isinstance(cache, FallbackCache):
        cache = request.app.state.ui_fallbacks = FallbackCache()
    return cache


async def _computed(request: Request, slo: Mapping[str, Any]) -> ApiResult:
    path = f"/api/v1/slos/{quote(str(slo['name']), safe='')}"
    return await fallbacks(request).get(slo, lambda: api_get(request, path))


async def _query(request: Request, query: str, groupings: Mapping[str, Sequence[str]]) -> Recorded:
    return _values(await api_get(request, "/api/v1/query", {"query": query}), groupings)


async def slos_with_budgets(request: Request) -> ApiResult:
    """``/api/v1/slos`` with every SLO's budgets, read from the rules' records."""
    specs = await api_get(request, "/api/v1/slos", {"budgets": "false"})
    if not specs.ok:
        return specs
    groupings = {str(s["name"]): list(s.get("grouping", [])) for s in specs.data}
    got = {name: await _query(request, q, groupings) for name, q in QUERIES.items() if name != "info"}
    out = [with_budgets(slo, got) if str(slo["name"]) in got["remaining"] else slo for slo in specs.data]
    missing = [i for i, s in enumerate(out) if "budgets" not in s]
    for i in missing[:FALLBACK_MAX]:
        one = await _computed(request, out[i])
        out[i] = one.data if one.ok else with_budgets(out[i], got)
    ruled = await _query(request, QUERIES["info"], groupings) if missing[FALLBACK_MAX:] else {}
    for i in missing[FALLBACK_MAX:]:
        row = with_budgets(out[i], got)
        if str(out[i]["name"]) not in ruled:
            row["budgets"][0]["status"] = "not evaluated yet"
        out[i] = row
    return ApiResult(True, data=out)
