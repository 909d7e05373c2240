"""SLO reports: budgets as JSON (the API's shape) and one table built from that JSON.

``sloguard slo report`` renders the same JSON whether it computed the budgets from a data
directory or asked a server (``--url``), so both show the same columns. Piped output (CI
logs, files) is as wide as the table's content instead of a guessed 80 columns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from sloguard.slo.budget import Budget
from sloguard.slo.model import SLO

COLUMNS = ("SLO", "labels", "objective", "SLI", "budget left", "minutes left", "burn 1h",
           "exhausts in", "coverage", "alerts", "status")


def iso(ms: int) -> str:
    """RFC3339 in UTC, with milliseconds only when there are some."""
    t = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    return t.isoformat(timespec="milliseconds" if ms % 1000 else "seconds").replace("+00:00", "Z")


def percent(x: float | None, digits: int = 1) -> str:
    """``0.1234`` -> ``12.3%``; tiny shares keep two significant digits (``0.0029%``)."""
    if x is None:
        return "-"
    p = x * 100
    return f"{p:.{digits}f}%" if abs(p) >= 0.1 or p == 0 else f"{p:.2g}%"


def _coverage_json(b: Budget) -> dict[str, Any]:
    seen = b.observed_from_ms
    return {
        "ratio": b.coverage,
        "observedFrom": None if seen is None else iso(seen),
        "observedSeconds": None if seen is None else (b.at_ms - seen) / 1000,
        "periodSecondsSoFar": (b.at_ms - b.period_start_ms) / 1000,
        "complete": None if seen is None else seen <= b.period_start_ms,
    }


def budget_json(b: Budget) -> dict[str, Any]:
    return {
        "labels": b.labels,
        "status": b.status.value,
        "at": iso(b.at_ms),
        "periodStart": iso(b.period_start_ms),
        "coverage": _coverage_json(b),
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
        "exhaustsInPeriod": b.exhausts_in_period,
        "periodLeftSeconds": b.period_left_s,
        "message": b.message,
    }


def alerts_of_row(alerts: Iterable[Mapping[str, Any]], grouping: Iterable[str], labels: Mapping[str, str]) -> list[Mapping[str, Any]]:
    """The alerts of one budget row: those whose grouping labels equal the row's."""
    keys = tuple(grouping)
    return [a for a in alerts if all(a.get("labels", {}).get(g, "") == labels.get(g, "") for g in keys)]


def slo_json(slo: SLO, budgets: list[Budget] | None = None, alerts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """An SLO as ``/api/v1/slos`` shows it; with ``alerts``, each budget row also lists
    the alerts of its own label set (``budgets[].alerts``)."""
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
    if slo.query_backend:
        d["queryBackend"] = slo.query_backend
    if budgets is not None:
        d["budgets"] = [budget_json(b) for b in budgets]
    if alerts is not None:
        d["alerts"] = alerts
        for b in d.get("budgets", []):
            b["alerts"] = alerts_of_row(alerts, slo.grouping, b["labels"])
    return d


def human_seconds(s: float) -> str:
    """``4320`` -> ``1h 12m``: the two largest units (d, h, m, s)."""
    left = int(round(s))
    parts: list[str] = []
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)):
        if left >= size or (unit == "s" and not parts):
            parts.append(f"{left // size}{unit}")
            left %= size
    return " ".join(parts[:2])


def _pct(x: float | None, digits: int = 3) -> str:
    return "no data" if x is None else f"{x * 100:.{digits}f}%"


def _minutes(m: float | None) -> str:
    """Budget minutes: one decimal, or two significant digits below one minute (the
    budget of a few observed minutes is a fraction of one)."""
    if m is None:
        return "-"
    return f"{m:.1f}" if abs(m) >= 1 or m == 0 else f"{m:.2g}"


def _coverage_text(cov: Mapping[str, Any] | None) -> str:
    if not cov or cov.get("ratio") is None:
        return "-"
    if cov.get("complete"):
        return "100%"
    return f"{percent(cov['ratio'])} of {human_seconds(cov['periodSecondsSoFar'])}: {human_seconds(cov['observedSeconds'])} observed"


def _exhaustion_text(b: Mapping[str, Any]) -> str:
    if b.get("status") == "exhausted":
        return "exhausted"
    if b.get("exhaustsInPeriod") is False:
        return "not in this window"
    tte = b.get("timeToExhaustionSeconds")
    return "-" if tte is None else human_seconds(tte)


def _row(slo: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    burn = next((w["burnRate"] for w in b.get("burnRates", []) if w["window"] == "1h"), None)
    eb = b.get("errorBudget", {})
    minutes = eb.get("remainingMinutes")
    alerts = ", ".join(f"{a.get('tier')}:{a.get('state')}" for a in b.get("alerts", [])) or "-"
    return [
        slo["name"], ",".join(f"{k}={v}" for k, v in b.get("labels", {}).items()), _pct(slo["objective"], 2),
        _pct(b.get("sli")), _pct(eb.get("remainingRatio"), 1), _minutes(minutes),
        "-" if burn is None else f"{burn:.2f}x", _exhaustion_text(b), _coverage_text(b.get("coverage")), alerts,
        b.get("status", "-"),
    ]


def table(data: list[dict[str, Any]]) -> Table:
    """The report table from ``/api/v1/slos`` JSON (both ``--url`` and ``--data-dir``)."""
    t = Table(title="SLO report")
    for col in COLUMNS:
        t.add_column(col)
    for slo in data:
        for b in slo.get("budgets") or []:
            t.add_row(*_row(slo, b))
    return t


#: The name the ``--url`` mode used; the same builder now serves both modes.
table_from_json = table


def print_table(t: Table, console: Console | None = None) -> None:
    """Print ``t``; when stdout is not a terminal, as wide as its content (no truncation)."""
    con = console or Console()
    if not con.is_terminal:
        width = Measurement.get(con, con.options.update(width=1_000_000), t).maximum
        con = Console(file=con.file, width=max(width, 80), color_system=None)
    con.print(t)
