"""The budget group of an SLO's rules: the period's budget, computed as the report computes it.

``sloguard-slo-<name>-budget`` runs every 5m. Its rules, in evaluation order (each reads
the ones before it at the same timestamp, as Prometheus' rule groups allow):

* ``slo:period_local_time:seconds`` (calendar periods only): the zone's wall clock.
* ``slo:period_start:timestamp`` / ``slo:period_end:timestamp`` (unix seconds): the current
  period; a rolling period is ``[time() - length, time()]``; a calendar period's boundaries
  come from ``_period_expr`` and equal the report's for every instant in the horizon.
* ``slo:time_period:days``: the current period's real length (a calendar month in a DST
  zone can be 30.958 days).
* ``slo:sli_total:period_count`` / ``slo:sli_error:period_count``: events (occurrences)
  or slices with traffic / bad slices (timeslices) since the period start, with
  ``_period_expr``'s subqueries; the error count is 0, not absent, while the SLI has
  traffic but no error series.
* ``slo:sli_error:ratio_rate<nominal period>``: the period's error ratio (bad / counted).
* ``slo:error_budget_remaining:ratio``: ``1 - ratio / budget`` for occurrences;
  ``1 - bad slices / (budget x slices of the whole period)`` for timeslices (OpenSLO:
  "a ratio of good time slices to total time slices in a budgeting period").
* metadata: ``slo:objective:ratio``, ``slo:error_budget:ratio``,
  ``slo:current_burn_rate:ratio``, ``slo:period_burn_rate:ratio``, ``slo:info``.
"""

from __future__ import annotations

from typing import Any

from sloguard.durations import format_duration_ms
from sloguard.slo import _period_expr as pe
from sloguard.slo._sli import error_rate, total_rate
from sloguard.slo.model import SLO, BudgetingMethod, clean_ratio

BUDGET_INTERVAL_MS = 300_000
HOUR_MS = 3_600_000
LOCAL_TIME = "slo:period_local_time:seconds"
PERIOD_START = "slo:period_start:timestamp"
PERIOD_END = "slo:period_end:timestamp"
TOTAL_COUNT = "slo:sli_total:period_count"
ERROR_COUNT = "slo:sli_error:period_count"


def _sel(name: str, slo: SLO) -> str:
    return f'{name}{{slo="{slo.name}"}}'


def period_ratio_name(slo: SLO) -> str:
    return f"slo:sli_error:ratio_rate{format_duration_ms(slo.period.nominal_ms)}"


def slice_threshold(slo: SLO) -> float:
    """A slice is bad when its error ratio exceeds this (1 - the slice target)."""
    target = slo.timeslice_target if slo.timeslice_target is not None else slo.objective
    return clean_ratio(1 - target)


def rule_start(slo: SLO) -> str:
    """The period start as the rules' subqueries read it: at the outer evaluation time."""
    return f"scalar({_sel(PERIOD_START, slo)} @ end())"


def _bounds_rules(slo: SLO) -> list[tuple[str, str]]:
    p = slo.period
    if p.calendar is None:
        return [(PERIOD_START, f"vector(time() - {p.nominal_ms // 1000})"), (PERIOD_END, "vector(time())")]
    local = _sel(LOCAL_TIME, slo)
    return [(LOCAL_TIME, pe.local_time_expr(p)), (PERIOD_START, pe.start_expr(p, local)), (PERIOD_END, pe.end_expr(p, local))]


def _count_rules(slo: SLO) -> list[tuple[str, str]]:
    start = rule_start(slo)
    if slo.budgeting is BudgetingMethod.TIMESLICES:
        s = slo.timeslice_ms or 60_000
        err, tot = error_rate(slo, s), total_rate(slo, s)
        total = pe.slices(tot, start, slo.period, s)
        bad = pe.bad_slices(err, tot, slice_threshold(slo), start, slo.period, s)
    else:
        total = pe.events(_sel("slo:sli_total:rate5m", slo), start, slo.period)
        bad = pe.events(_sel("slo:sli_error:rate5m", slo), start, slo.period)
    on = ", ".join(slo.grouping)
    return [(TOTAL_COUNT, total), (ERROR_COUNT, f"({bad}) or on({on}) ({_sel(TOTAL_COUNT, slo)} * 0)")]


def _seconds(slo: SLO) -> str:
    """The current period's length in seconds (a constant for a rolling period)."""
    if slo.period.calendar is None:
        return f"vector({slo.period.nominal_ms // 1000})"
    return f"({_sel(PERIOD_END, slo)} - {_sel(PERIOD_START, slo)})"


def _remaining(slo: SLO, b: str) -> str:
    if slo.budgeting is BudgetingMethod.TIMESLICES:
        s = (slo.timeslice_ms or 60_000) / 1000
        whole = f"ceil({_seconds(slo)} / {s:g})"
        return f"1 - {_sel(ERROR_COUNT, slo)} / on() group_left() ({b} * {whole})"
    return f"1 - ({_sel(period_ratio_name(slo), slo)} / {b})"


def _ratio_1h(slo: SLO) -> str:
    """The 1h error ratio: the SLI group's record when an alert window records it, else
    computed here (a disabled page tier must not leave the current burn rate empty)."""
    windows = {ms for t in slo.alerting.tiers if t.enabled for w in t.windows for ms in (w.long_ms, w.short_ms)}
    if HOUR_MS in windows:
        return _sel("slo:sli_error:ratio_rate1h", slo)
    return f"({error_rate(slo, HOUR_MS)}) / ({total_rate(slo, HOUR_MS)})"


def budget_group(slo: SLO, labels: dict[str, str] | None = None) -> dict[str, Any]:
    """The budget group; ``labels`` go on every series (default: ``slo``, ``service`` and
    the spec's labels)."""
    labels = labels if labels is not None else {"slo": slo.name, "service": slo.service, **dict(slo.labels)}
    b = f"{slo.error_budget:.10g}"
    ratio = period_ratio_name(slo)
    days = f"{_seconds(slo)} / 86400"
    records = [
        *_bounds_rules(slo),
        ("slo:time_period:days", days),
        *_count_rules(slo),
        (ratio, f"{_sel(ERROR_COUNT, slo)} / {_sel(TOTAL_COUNT, slo)}"),
        ("slo:objective:ratio", f"vector({slo.objective:.10g})"),
        ("slo:error_budget:ratio", f"vector({b})"),
        ("slo:error_budget_remaining:ratio", _remaining(slo, b)),
        ("slo:current_burn_rate:ratio", f"{_ratio_1h(slo)} / {b}"),
        ("slo:period_burn_rate:ratio", f"{_sel(ratio, slo)} / {b}"),
    ]
    rules: list[dict[str, Any]] = [{"record": r, "expr": e, "labels": labels} for r, e in records]
    info = {**labels, "objective": f"{slo.objective:.10g}", "period": str(slo.period), "budgeting": slo.budgeting.value}
    rules.append({"record": "slo:info", "expr": "vector(1)", "labels": info})
    return {"name": f"sloguard-slo-{slo.name}-budget", "interval": format_duration_ms(BUDGET_INTERVAL_MS), "rules": rules}
