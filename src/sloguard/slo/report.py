"""SLO reports: budgets as JSON (the API's shape) and as a table (the CLI)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rich.table import Table

from sloguard.durations import format_duration_ms
from sloguard.slo.budget import Budget
from sloguard.slo.model import SLO


def _iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat().replace("+00:00", "Z")


def budget_json(b: Budget) -> dict[str, Any]:
    return {
        "labels": b.labels,
        "status": b.status.value,
        "at": _iso(b.at_ms),
        "periodStart": _iso(b.period_start_ms),
        "sli": b.sli,
        "totalEvents": b.total_events,
        "badEvents": b.bad_events,
        "errorBudget": {
            "remainingRatio": b.budget_remaining_ratio,
            "remainingMinutes": b.budget_remaining_minutes,
            "remainingEvents": b.budget_remaining_events,
        },
        "burnRates": [{"window": w.window, "errorRatio": w.error_ratio, "burnRate": w.burn_rate} for w in b.burn_rates],
        "timeToExhaustionSeconds": b.time_to_exhaustion_s,
        "message": b.message,
    }


def slo_json(slo: SLO, budgets: list[Budget] | None = None) -> dict[str, Any]:
    d: dict[str, Any] = {
        "name": slo.name,
        "service": slo.service,
        "description": slo.description,
        "objective": slo.objective,
        "errorBudget": slo.error_budget,
        "period": str(slo.period),
        "budgetingMethod": slo.budgeting.value,
        "sliKind": slo.sli.kind.value,
        "grouping": list(slo.grouping),
        "labels": dict(slo.labels),
        "source": slo.source,
    }
    if budgets is not None:
        d["budgets"] = [budget_json(b) for b in budgets]
    return d


def _pct(x: float | None, digits: int = 3) -> str:
    return "no data" if x is None else f"{x * 100:.{digits}f}%"


def table(rows: list[tuple[SLO, list[Budget]]]) -> Table:
    t = Table(title="SLO report")
    for col in ("SLO", "labels", "objective", "SLI", "budget left", "minutes left", "burn 1h", "exhausted in", "status"):
        t.add_column(col)
    for slo, budgets in rows:
        for b in budgets:
            burn = next((w.burn_rate for w in b.burn_rates if w.window == "1h"), None)
            tte = "-" if b.time_to_exhaustion_s is None else format_duration_ms(int(b.time_to_exhaustion_s) // 60 * 60_000 or 60_000)
            t.add_row(
                slo.name, ",".join(f"{k}={v}" for k, v in b.labels.items()), _pct(slo.objective, 2), _pct(b.sli),
                _pct(b.budget_remaining_ratio, 1),
                "-" if b.budget_remaining_minutes is None else f"{b.budget_remaining_minutes:.1f}",
                "-" if burn is None else f"{burn:.2f}x", tte, b.status.value,
            )
    return t


def table_from_json(data: list[dict[str, Any]]) -> Table:
    """The report table from ``/api/v1/slos`` JSON (``sloguard slo report --url``)."""
    t = Table(title="SLO report")
    for col in ("SLO", "labels", "objective", "SLI", "budget left", "minutes left", "burn 1h", "alerts", "status"):
        t.add_column(col)
    for slo in data:
        firing = ", ".join(f"{a['tier']}:{a['state']}" for a in slo.get("alerts", [])) or "-"
        for b in slo.get("budgets") or []:
            burn = next((w["burnRate"] for w in b["burnRates"] if w["window"] == "1h"), None)
            eb = b["errorBudget"]
            t.add_row(
                slo["name"], ",".join(f"{k}={v}" for k, v in b["labels"].items()), _pct(slo["objective"], 2),
                _pct(b["sli"]), _pct(eb["remainingRatio"], 1),
                "-" if eb["remainingMinutes"] is None else f"{eb['remainingMinutes']:.1f}",
                "-" if burn is None else f"{burn:.2f}x", firing, b["status"],
            )
    return t
