"""Why an analysis run decided what it did, step by step: every measurement of every
metric in time order with its phase and, for judge metrics, the verdict's statistic,
p-value (or likelihood ratio), effect and interval; then the limit that ended each metric
and the run. Pure functions of the run: ``explain_lines`` gives plain lines (safe for rich:
no markup), ``explain_json`` the same facts as JSON-safe data.
``sloguard analysis replay`` prints them; ``sloguard rollout explain NAME`` will.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sloguard.delivery.analysis import AnalysisRun, Measurement, Metric, MetricResult
from sloguard.delivery.judges import Verdict
from sloguard.delivery.judges._verdict import fmt

__all__ = ["explain_json", "explain_lines"]


def explain_lines(run: AnalysisRun) -> list[str]:
    """The run explained as plain lines (no rich markup, so ``[`` in values is safe to print)."""
    out = [f"Analysis run {run.name}: {run.phase.value}", f"  started {_when(run.started_ms)}"]
    for metric, result in zip(run.metrics, run.results, strict=True):
        out += _metric_lines(run, metric, result)
    if run.phase.completed:
        out.append(f"Decision at {_when(run.completed_ms)}: {run.phase.value}. {run.message}".rstrip())
    else:
        out.append(f"Still running: {run.message or 'no metric has decided yet'}.")
    return out


def explain_json(run: AnalysisRun) -> dict[str, Any]:
    """The same explanation as dicts, lists, strings and numbers."""
    return {
        "name": run.name, "phase": run.phase.value, "message": run.message,
        "started_ms": run.started_ms, "completed_ms": run.completed_ms,
        "metrics": [
            {"name": m.name, "kind": _kind(m), "dry_run": r.dry_run, "phase": r.phase.value,
             "ended_by": r.message, "tally": r.summary(), "measurements_dropped": _dropped(r),
             "steps": [_step_json(run, x) for x in r.measurements]}
            for m, r in zip(run.metrics, run.results, strict=True)
        ],
    }  # fmt: skip


def _metric_lines(run: AnalysisRun, metric: Metric, r: MetricResult) -> list[str]:
    dry = " (dry run: never decides)" if r.dry_run else ""
    out = [f"Metric {metric.name} [{_kind(metric)}]{dry}: {r.phase.value}"]
    if _dropped(r):
        out.append(f"  ({_dropped(r)} earlier measurements were not kept; totals: {r.summary()})")
    for i, m in enumerate(r.measurements, 1 + _dropped(r)):
        out.append(f"  {i}. {_offset(run, m)} {m.phase.value}" + (f" value {m.value}" if m.value else ""))
        out += [f"     {line}" for line in _evidence(m)]
    if r.message:
        out.append(f"  ended: {r.message}")
    return out


def _evidence(m: Measurement) -> list[str]:
    v = m.verdict
    if v is None:
        return [m.message] if m.message else []
    return [*verdict_lines(v), *([m.message] if m.message != v.reason else [])]


def verdict_lines(v: Verdict) -> list[str]:
    """A verdict's figures: judge and outcome, statistic, p-value or likelihood ratio,
    effect and interval, sample sizes, and its reason."""
    stat = f"{v.statistic_name or 'statistic'} = {fmt(v.statistic)}"
    p = f"p-value = {fmt(v.p_value)}" if v.p_value is not None else "p-value = n/a"
    lr = f", likelihood ratio = {fmt(v.likelihood_ratio)}" if v.likelihood_ratio is not None else ""
    interval = str(v.interval) if v.interval is not None else "n/a"
    return [
        f"judge {v.judge}: {v.outcome.value} at alpha {v.alpha:g}",
        f"statistic: {stat}; {p}{lr}",
        f"effect: {v.effect_name or 'effect'} = {fmt(v.effect)}; interval {interval}",
        f"samples: baseline {fmt(v.baseline_n)}, canary {fmt(v.canary_n)}",
        f"reason: {v.reason}",
    ]


def _step_json(run: AnalysisRun, m: Measurement) -> dict[str, Any]:
    return {
        "phase": m.phase.value, "started_ms": m.started_ms, "finished_ms": m.finished_ms,
        "offset_s": (m.started_ms - run.started_ms) / 1000, "value": m.value, "message": m.message,
        "verdict": m.verdict.to_dict() if m.verdict is not None else None,
    }


def _kind(metric: Metric) -> str:
    judge = getattr(metric.provider, "judge", None)
    if isinstance(judge, str):
        method = getattr(metric.provider, "method", None)
        return f"judge {judge}" + (f", {method}" if method else "")
    return str(metric.provider.TYPE)


def _dropped(r: MetricResult) -> int:
    total = r.count + r.error + r.no_data
    counted = sum(1 for m in r.measurements if m.phase.counts or m.phase.value in ("Error", "NoData"))
    return max(0, total - counted)


def _offset(run: AnalysisRun, m: Measurement) -> str:
    s = (m.started_ms - run.started_ms) // 1000
    return f"+{s // 60}m{s % 60:02d}s ({_when(m.started_ms)})"


def _when(ms: int | None) -> str:
    if ms is None:
        return "n/a"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
