"""A backtest as JSON (every alert and event) and as a table (policies side by side)."""

from __future__ import annotations

import datetime as dt
import statistics
from typing import Any

from rich.table import Table

from sloguard.durations import format_duration_ms
from sloguard.slo._backtest_model import Alert, Backtest, Event, TierResult


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat().replace("+00:00", "Z")


def _stats(xs: list[float]) -> dict[str, float] | None:
    if not xs:
        return None
    return {"median": statistics.median(xs), "max": max(xs), "mean": statistics.fmean(xs)}


def _alert_json(a: Alert) -> dict[str, Any]:
    return {"labels": dict(a.labels), "start": _iso(a.start_ms), "end": _iso(a.end_ms), "matched": a.matched}


def _event_json(e: Event) -> dict[str, Any]:
    return {
        "labels": dict(e.labels), "onset": _iso(e.onset_ms), "end": _iso(e.end_ms), "significantUntil": _iso(e.until_ms),
        "detected": _iso(e.detected_ms), "reset": _iso(e.reset_ms),
        "detectionSeconds": None if e.detection_ms is None else e.detection_ms / 1000,
        "resetSeconds": None if e.reset_time_ms is None else e.reset_time_ms / 1000,
        "budgetSpentBeforeDetection": e.budget_before_detection,
    }


def _measures(r: TierResult) -> dict[str, Any]:
    det = [e.detection_ms / 1000 for e in r.events if e.detection_ms is not None]
    reset = [e.reset_time_ms / 1000 for e in r.events if e.reset_time_ms is not None]
    spent = [e.budget_before_detection for e in r.events if e.budget_before_detection is not None]
    return {
        "alerts": len(r.alerts), "matchedAlerts": sum(a.matched for a in r.alerts), "precision": r.precision,
        "events": len(r.events), "detectedEvents": sum(e.detected_ms is not None for e in r.events), "recall": r.recall,
        "detectionSeconds": _stats(det), "resetSeconds": _stats(reset), "budgetSpentBeforeDetection": _stats(spent),
    }


def backtest_json(b: Backtest) -> dict[str, Any]:
    return {
        "slo": b.slo, "from": _iso(b.from_ms), "to": _iso(b.to_ms), "stepSeconds": b.step_ms / 1000,
        "significance": [{"tier": s.tier, "window": format_duration_ms(s.window_ms), "budgetShare": s.share} for s in b.significance],
        "results": [
            {"policy": r.policy, "tier": r.tier, **_measures(r),
             "alertList": [_alert_json(a) for a in r.alerts], "eventList": [_event_json(e) for e in r.events]}
            for r in b.results
        ],
    }


def _dur(seconds: float) -> str:
    sign = "-" if seconds < 0 else ""
    ms = int(round(abs(seconds))) * 1000
    return sign + (format_duration_ms(ms) if ms else "0s")


def _pair(stats: dict[str, float] | None, fmt: Any) -> str:
    return "-" if stats is None else f"{fmt(stats['median'])} / {fmt(stats['max'])}"


def _ratio(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:.0f}%"


def table(backtests: list[Backtest]) -> Table:
    t = Table(title="Alert policy backtest (median / max)")
    for col in ("SLO", "policy", "tier", "alerts", "precision", "events", "recall", "detection", "reset", "budget spent before detection"):
        t.add_column(col, no_wrap=True)
    for b in backtests:
        for r in b.results:
            m = _measures(r)
            t.add_row(
                b.slo, r.policy, r.tier, str(m["alerts"]), _ratio(m["precision"]), str(m["events"]), _ratio(m["recall"]),
                _pair(m["detectionSeconds"], _dur), _pair(m["resetSeconds"], _dur),
                _pair(m["budgetSpentBeforeDetection"], lambda x: f"{x * 100:.2f}%"),
            )
    return t
