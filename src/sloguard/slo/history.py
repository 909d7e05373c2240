"""SLO history: the SLI, budget remaining, coverage and every alert window's burn rate
over time, from stored data.

Each quantity is a range query over the SLI's raw series (the engine evaluates all steps
at once), so a step's values are the ones ``budget.compute`` gives at that instant:

* a rolling period is one fixed window: the period's events at each step are the same
  ``rate(...[period]) * period`` the report evaluates;
* a calendar period's window grows from the period start: the first step of each period
  reads its events since the start, later steps add the events of each step (windows
  that tile the period, so sums agree with the report's one window up to ``rate``'s
  extrapolation at the tile edges);
* burn rates are the error ratio over each window of the SLO's alert tiers (and 5m),
  divided by the error budget.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sloguard.promql import Engine, Series
from sloguard.slo import rulegen
from sloguard.slo._coverage import Key, observed_from
from sloguard.slo._errors import SLOError
from sloguard.slo._sli import error_rate, total_rate
from sloguard.slo.budget import period_start_ms, timeslice_queries
from sloguard.slo.model import SLO, BudgetingMethod

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

#: Points per series a history may have (Prometheus' limit for range queries).
MAX_POINTS = 11_000


class HistoryError(SLOError):
    """A history request that cannot be answered as asked; the message says why."""


@dataclass(frozen=True, slots=True)
class SeriesHistory:
    """One label set of the SLO's grouping at every step of ``History.steps``; NaN
    where there is no data. ``burn_rates`` maps a window (ms) to its burn rate."""

    labels: dict[str, str]
    sli: F64
    budget_remaining: F64
    coverage: F64
    burn_rates: dict[int, F64]


@dataclass(frozen=True, slots=True)
class History:
    slo: SLO
    steps: I64
    windows_ms: tuple[int, ...]
    series: tuple[SeriesHistory, ...]


def check_range(start_ms: int, end_ms: int, step_ms: int) -> int:
    """The number of points, or ``HistoryError`` naming the values that are wrong."""
    if step_ms <= 0:
        raise HistoryError(f"step must be positive, got {step_ms / 1000:g}s")
    if end_ms < start_ms:
        raise HistoryError(f"end ({end_ms / 1000:g}) is before start ({start_ms / 1000:g})")
    n = (end_ms - start_ms) // step_ms + 1
    if n > MAX_POINTS:
        raise HistoryError(
            f"{n:,} points from start to end at a step of {step_ms / 1000:g}s; at most "
            f"{MAX_POINTS:,} are allowed: use a step of at least {-(-(end_ms - start_ms) // (MAX_POINTS - 1)) / 1000:g}s"
        )
    return int(n)


def compute(engine: Engine, slo: SLO, start_ms: int, end_ms: int, step_ms: int) -> History:
    check_range(start_ms, end_ms, step_ms)
    steps = np.arange(start_ms, end_ms + 1, step_ms, dtype=np.int64)
    bad, total = _period_events(engine, slo, steps, step_ms)
    windows = tuple(rulegen.windows_of(slo))
    burns = {w: _range(engine, f"({error_rate(slo, w)}) / ({total_rate(slo, w)})", steps, step_ms) for w in windows}
    starts = np.array([period_start_ms(slo.period, int(t)) for t in steps], dtype=np.int64)
    keys = sorted(total)
    seen = observed_from(engine, slo, int(starts.min()), end_ms, keys) if keys else {}
    allowed = slo.error_budget
    out = []
    for key in keys:
        tot = total[key]
        b = np.where(np.isnan(tot), np.nan, np.nan_to_num(bad.get(key, np.zeros(len(steps)))))
        with np.errstate(divide="ignore", invalid="ignore"):
            err = np.where(tot > 0, b / tot, np.nan)
        nan = np.full(len(steps), np.nan)
        out.append(SeriesHistory(
            labels=dict(key), sli=1 - err, budget_remaining=1 - err / allowed,
            coverage=_coverage(steps, starts, seen.get(key)),
            burn_rates={w: burns[w].get(key, nan) / allowed for w in windows},
        ))
    return History(slo, steps, windows, tuple(out))


def _coverage(steps: I64, starts: I64, first: int | None) -> F64:
    if first is None:
        return np.full(len(steps), np.nan)
    seen = np.maximum(starts, first)
    out: F64 = np.clip((steps - seen) / np.maximum(steps - starts, 1), 0.0, 1.0)
    return out


def _range(engine: Engine, expr: str, steps: I64, step_ms: int) -> dict[Key, F64]:
    """``expr`` at every step, per label set (NaN where absent)."""
    res = engine.range_query(expr, int(steps[0]), int(steps[-1]), step_ms)
    out: dict[Key, F64] = {}
    for s in res.value if isinstance(res.value, list) else []:
        if isinstance(s, Series):
            arr = np.full(len(steps), np.nan)
            arr[(s.timestamps - steps[0]) // step_ms] = s.values
            out[tuple(s.labels.drop_metric_name())] = arr
    return out


def _window_events(engine: Engine, slo: SLO, steps: I64, step_ms: int, window_ms: int) -> tuple[dict[Key, F64], dict[Key, F64]]:
    """Bad and total events (or slices) in the window ending at each step."""
    if slo.budgeting is BudgetingMethod.TIMESLICES:
        bad_q, total_q = timeslice_queries(slo, window_ms)
        return _range(engine, bad_q, steps, step_ms), _range(engine, total_q, steps, step_ms)
    secs = window_ms / 1000
    bad = {k: v * secs for k, v in _range(engine, error_rate(slo, window_ms), steps, step_ms).items()}
    total = {k: v * secs for k, v in _range(engine, total_rate(slo, window_ms), steps, step_ms).items()}
    return bad, total


def _period_events(engine: Engine, slo: SLO, steps: I64, step_ms: int) -> tuple[dict[Key, F64], dict[Key, F64]]:
    if slo.period.is_rolling:
        return _window_events(engine, slo, steps, step_ms, max(slo.period.nominal_ms, 60_000) // 1000 * 1000)
    bad: dict[Key, F64] = {}
    total: dict[Key, F64] = {}
    starts = np.array([period_start_ms(slo.period, int(t)) for t in steps], dtype=np.int64)
    for p in np.unique(starts):
        idx = np.flatnonzero(starts == p)
        part = _calendar_events(engine, slo, steps[idx], step_ms, int(p))
        for into, got in zip((bad, total), part, strict=True):
            for k, v in got.items():
                into.setdefault(k, np.full(len(steps), np.nan))[idx] = v
    return bad, total


def _calendar_events(engine: Engine, slo: SLO, steps: I64, step_ms: int, start: int) -> tuple[dict[Key, F64], dict[Key, F64]]:
    """Events since ``start`` at each step of one calendar period: the first step's own
    window, then the step-long windows that follow it, summed."""
    elapsed = int(steps[0]) - start
    first = _window_events(engine, slo, steps[:1], step_ms, max(elapsed, 60_000) // 1000 * 1000)
    if len(steps) == 1:
        return first
    if elapsed < 60_000:  # the report's shortest window reaches before the start: not a base
        rest = _calendar_events(engine, slo, steps[1:], step_ms, start)
        return _prepend(first[0], rest[0], len(steps)), _prepend(first[1], rest[1], len(steps))
    more = _window_events(engine, slo, steps[1:], step_ms, step_ms)
    out: list[dict[Key, F64]] = []
    for head, tail in zip(first, more, strict=True):
        sums: dict[Key, F64] = {}
        for k in set(head) | set(tail):
            inc = np.concatenate([np.nan_to_num(head.get(k, np.zeros(1))), np.nan_to_num(tail.get(k, np.zeros(len(steps) - 1)))])
            present = np.concatenate([~np.isnan(head.get(k, np.full(1, np.nan))), ~np.isnan(tail.get(k, np.full(len(steps) - 1, np.nan)))])
            sums[k] = np.where(np.maximum.accumulate(present), np.cumsum(inc), np.nan)
        out.append(sums)
    return out[0], out[1]


def _prepend(head: dict[Key, F64], rest: dict[Key, F64], n: int) -> dict[Key, F64]:
    return {k: np.concatenate([head.get(k, np.full(1, np.nan)), rest.get(k, np.full(n - 1, np.nan))])
            for k in set(head) | set(rest)}


def _list(a: F64) -> list[float | None]:
    return [None if np.isnan(x) else float(x) for x in a.tolist()]


def history_json(h: History) -> dict[str, object]:
    """The ``/api/v1/slos/{name}/history`` shape (documented in docs/slo.md)."""
    from sloguard.durations import format_duration_ms

    slo = h.slo
    tiers = [{"tier": t.name, "windows": [{"long": format_duration_ms(w.long_ms), "short": format_duration_ms(w.short_ms),
                                           "factor": w.factor} for w in t.windows]}
             for t in slo.alerting.tiers if t.enabled]
    return {
        "name": slo.name, "service": slo.service, "objective": slo.objective, "errorBudget": slo.error_budget,
        "period": str(slo.period), "budgetingMethod": slo.budgeting.value,
        "timestamps": [t / 1000 for t in h.steps.tolist()],
        "windows": [format_duration_ms(w) for w in h.windows_ms], "alertTiers": tiers,
        "series": [{
            "labels": s.labels, "sli": _list(s.sli), "budgetRemaining": _list(s.budget_remaining),
            "coverage": _list(s.coverage),
            "burnRates": {format_duration_ms(w): _list(v) for w, v in s.burn_rates.items()},
        } for s in h.series],
    }
