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
* ``slo:info``: which SLOs' rules have run (the budget group's records are read with
  ``last_over_time`` over ``BUDGET_LOOKBACK``, as they are written every 5m).

An SLO without a budget record (its rules have not run yet, their first run saw no
recorded rates yet, or it has no data) has its budget computed by
``/api/v1/slos/{name}``, up to ``FALLBACK_MAX`` of them; past that its row says "no data"
(or "not evaluated yet" when its rules have not run).

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

Key = tuple[str, tuple[tuple[str, str], ...]]


def _key(metric: Mapping[str, str], grouping: Sequence[str]) -> Key:
    return str(metric.get("slo", "")), tuple((g, str(metric.get(g, ""))) for g in grouping)


def _values(result: ApiResult, groupings: Mapping[str, Sequence[str]]) -> dict[Key, list[tuple[str, float]]]:
    """Each recorded sample by (SLO, grouping label values): ``[(metric name, value)]``."""
    out: dict[Key, list[tuple[str, float]]] = {}
    for s in (result.data or {}).get("result", []) if result.ok else []:
        metric = s.get("metric", {})
        slo = str(metric.get("slo", ""))
        if slo in groupings:
            out.setdefault(_key(metric, groupings[slo]), []).append((str(metric.get("__name__", "")), float(s["value"][1])))
    return out


def _budget(slo: Mapping[str, Any], labels: dict[str, str], got: Mapping[str, dict[Key, list[tuple[str, float]]]], key: Key) -> dict[str, Any]:
    eb = float(slo.get("errorBudget") or 0) or 1.0
    remaining = next((v for _, v in got["remaining"].get(key, []) if math.isfinite(v)), None)  # NaN: 0/0, no traffic
    period_burn = next((v for _, v in got["period_burn"].get(key, []) if math.isfinite(v)), None)
    burns = {name.removeprefix("slo:sli_error:ratio_rate"): v / eb for name, v in got["ratios"].get(key, [])}
    status = "no data" if remaining is None else ("ok" if remaining > 0 else "exhausted")
    return {
        "labels": labels, "status": status, "sli": None if period_burn is None else 1 - period_burn * eb,
        "errorBudget": {"remainingRatio": remaining},
        "burnRates": [{"window": w, "burnRate": burns[w]} for w in WINDOWS if w in burns],
        "alerts": alerts_of_row(slo.get("alerts", []), slo.get("grouping", []), labels),
    }


def with_budgets(slo: Mapping[str, Any], got: Mapping[str, dict[Key, list[tuple[str, float]]]]) -> dict[str, Any]:
    """The SLO with ``budgets`` from the recorded series: one per grouping label set that
    has a budget record, or one "no data" row."""
    keys = sorted(k for k in got["remaining"] if k[0] == slo["name"])
    if not keys:
        return {**slo, "budgets": [_budget(slo, {}, got, (str(slo["name"]), ()))]}
    return {**slo, "budgets": [_budget(slo, dict(k[1]), got, k) for k in keys]}


async def slos_with_budgets(request: Request) -> ApiResult:
    """``/api/v1/slos`` with every SLO's budgets, read from the rules' records."""
    specs = await api_get(request, "/api/v1/slos", {"budgets": "false"})
    if not specs.ok:
        return specs
    groupings = {str(s["name"]): list(s.get("grouping", [])) for s in specs.data}
    got = {name: _values(await api_get(request, "/api/v1/query", {"query": q}), groupings) for name, q in QUERIES.items()}
    recorded = {k[0] for k in got["remaining"]}
    ruled = {k[0] for k in got["info"]}
    out = [with_budgets(slo, got) if str(slo["name"]) in recorded else slo for slo in specs.data]
    missing = [i for i, s in enumerate(out) if "budgets" not in s]
    for i in missing[:FALLBACK_MAX]:
        one = await api_get(request, f"/api/v1/slos/{quote(str(out[i]['name']), safe='')}")
        out[i] = one.data if one.ok else with_budgets(out[i], got)
    for i in missing[FALLBACK_MAX:]:
        row = with_budgets(out[i], got)
        if str(out[i]["name"]) not in ruled:
            row["budgets"][0]["status"] = "not evaluated yet"
        out[i] = row
    return ApiResult(True, data=out)
