"""SLO history: the SLI, budget remaining, coverage and every alert window's burn rate
over time, from stored data.

Each quantity is a range query over the SLI's raw series (the engine evaluates all steps
at once), so a step's values are the ones ``budget.compute`` gives at that instant:

* the period's events (or slices) at each step are ``budget.period_counts``' terms, the
  5m slots (or slices) since the step's period start plus the slot in progress, summed
  from range queries on their grids (``_history_counts``), so every step equals the
  report at that instant, rolling or calendar, occurrences or timeslices;
* burn rates are the error ratio over each window of the SLO's alert tiers (and 5m),
  divided by the error budget.

All those queries read the raw series once (``_history_snapshot``: one select per
selector over the whole span, cut to each query's window), not once per query.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sloguard.promql import Engine
from sloguard.slo import rulegen
from sloguard.slo._coverage import observed_from
from sloguard.slo._errors import SLOError
from sloguard.slo._history_counts import on_grid, period_counts
from sloguard.slo._history_snapshot import SNAPSHOT_MARGIN_MS, snapshot_engine
from sloguard.slo._sli import error_rate, total_rate
from sloguard.slo.budget import period_length_ms, period_start_ms
from sloguard.slo.model import SLO, BudgetingMethod

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

#: Points per series a history may have (Prometheus' limit for range queries).
MAX_POINTS = 11_000
#: Points of a history asked for without a step.
DEFAULT_POINTS = 250


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


def default_step_ms(start_ms: int, end_ms: int) -> int:
    """A whole number of seconds giving about ``DEFAULT_POINTS`` points from start to end."""
    return max(1000, -(-(end_ms - start_ms) // (DEFAULT_POINTS - 1)) // 1000 * 1000)


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
    starts = np.array([period_start_ms(slo.period, int(t)) for t in steps], dtype=np.int64)
    windows = tuple(rulegen.windows_of(slo))
    first = min(int(starts.min()), start_ms - period_length_ms(slo.period, start_ms))  # a calendar's reach
    engine = snapshot_engine(engine, first - max(windows, default=0) - SNAPSHOT_MARGIN_MS, end_ms)
    bad, total = period_counts(engine, slo, starts, steps, step_ms)
    burns = {w: on_grid(engine, f"({error_rate(slo, w)}) / ({total_rate(slo, w)})", steps, step_ms) for w in windows}
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
            labels=dict(key), sli=1 - err, budget_remaining=_remaining(slo, err, b, steps),
            coverage=_coverage(steps, starts, seen.get(key)),
            burn_rates={w: burns[w].get(key, nan) / allowed for w in windows},
        ))
    return History(slo, steps, windows, tuple(out))


def _remaining(slo: SLO, err: F64, bad: F64, steps: I64) -> F64:
    """``budget._budget``'s remaining budget: against the events so far (occurrences) or
    the slices of the whole period (timeslices)."""
    if slo.budgeting is not BudgetingMethod.TIMESLICES:
        out: F64 = 1 - err / slo.error_budget
        return out
    s = slo.timeslice_ms or 60_000
    slices = np.array([math.ceil(period_length_ms(slo.period, int(t)) / s) for t in steps], dtype=np.float64)
    return np.where(np.isnan(err), np.nan, 1 - bad / (slo.error_budget * slices))


def _coverage(steps: I64, starts: I64, first: int | None) -> F64:
    if first is None:
        return np.full(len(steps), np.nan)
    seen = np.maximum(starts, first)
    out: F64 = np.clip((steps - seen) / np.maximum(steps - starts, 1), 0.0, 1.0)
    return out


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
