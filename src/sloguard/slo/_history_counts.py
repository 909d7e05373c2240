"""The period counts of ``budget.period_counts`` at every step of a history, vectorised.

``budget.period_counts`` evaluates the PromQL of ``_period_expr`` at one instant ``t``:

* occurrences: the 5m rate ``R`` at every multiple ``g`` of 5m with ``start(t) < g <= t``,
  summed and times 300, plus the slot in progress ``R(t) * (t % 300s)``;
* timeslices: the multiples ``g`` of the slice with ``start(t) < g <= t`` whose slice saw
  traffic (total) or whose error ratio exceeds the threshold (bad).

Here the same terms come from range queries on those grids (chunked below the engine's
points limit), and each step's sum is a difference of cumulative sums, so a history of a
thousand steps costs a few range queries instead of a thousand instant queries.
"""

from __future__ import annotations

import numpy as np

from sloguard.promql import Engine
from sloguard.slo import _period_expr as pe
from sloguard.slo import _range
from sloguard.slo._budget_rules import slice_threshold
from sloguard.slo._range import F64, I64, Key
from sloguard.slo._sli import error_rate, total_rate
from sloguard.slo.model import SLO, BudgetingMethod

Counts = dict[Key, F64]
def on_grid(engine: Engine, expr: str, times: I64, step_ms: int) -> dict[Key, F64]:
    return _range.on_grid(_range.engine_range_query(engine), expr, times, step_ms)


def _grid(starts: I64, steps: I64, step_ms: int) -> I64:
    first = (int(starts.min()) // step_ms + 1) * step_ms  # the first multiple after a start
    last = int(steps[-1]) // step_ms * step_ms
    return np.arange(first, max(last, first - step_ms) + 1, step_ms, dtype=np.int64)


def _windowed(grid: I64, values: dict[Key, F64], starts: I64, steps: I64) -> tuple[dict[Key, F64], dict[Key, F64]]:
    """Per key: the sum of ``values`` over ``start < g <= t`` at each step, and how many of
    those grid points had a value (0: PromQL's ``*_over_time`` returns nothing)."""
    lo = np.searchsorted(grid, starts, side="right")
    hi = np.searchsorted(grid, steps, side="right")
    sums: dict[Key, F64] = {}
    present: dict[Key, F64] = {}
    for k, v in values.items():
        c = np.concatenate([[0.0], np.cumsum(np.nan_to_num(v))])
        n = np.concatenate([[0.0], np.cumsum(~np.isnan(v))])
        sums[k], present[k] = c[hi] - c[lo], n[hi] - n[lo]
    return sums, present


def _events(engine: Engine, rate5m: str, starts: I64, steps: I64, step_ms: int) -> Counts:
    grid = _grid(starts, steps, pe.STEP_MS)
    slots, n = _windowed(grid, on_grid(engine, rate5m, grid, pe.STEP_MS) if len(grid) else {}, starts, steps)
    now = on_grid(engine, rate5m, steps, step_ms)
    tail_s = (steps / 1000) % (pe.STEP_MS // 1000)
    out: Counts = {}
    for k in set(slots) | set(now):
        s = np.where(n.get(k, np.zeros(len(steps))) > 0, slots.get(k, np.zeros(len(steps))) * (pe.STEP_MS // 1000), np.nan)
        t = now.get(k, np.full(len(steps), np.nan)) * tail_s
        out[k] = np.where(np.isnan(s), t, np.where(np.isnan(t), s, s + t))
    return out


def _slices(engine: Engine, slo: SLO, starts: I64, steps: I64) -> tuple[Counts, Counts]:
    s = slo.timeslice_ms or 60_000
    grid = _grid(starts, steps, s)
    if not len(grid):
        return {}, {}
    err, tot = error_rate(slo, s), total_rate(slo, s)
    traffic = {k: np.where(v > 0, 1.0, np.nan) for k, v in on_grid(engine, tot, grid, s).items()}
    ratio = on_grid(engine, f"({err}) / ({tot})", grid, s)
    worse = {k: np.where(v > slice_threshold(slo), 1.0, np.nan) for k, v in ratio.items()}
    out = []
    for values in (worse, traffic):
        sums, n = _windowed(grid, values, starts, steps)
        out.append({k: np.where(n[k] > 0, sums[k], np.nan) for k in sums})
    return out[0], out[1]


def period_counts(engine: Engine, slo: SLO, starts: I64, steps: I64, step_ms: int) -> tuple[Counts, Counts]:
    """Bad and counted events (or slices) of the period at each step; ``starts`` are the
    steps' period starts. NaN where ``budget.period_counts`` would return no series."""
    if slo.budgeting is BudgetingMethod.TIMESLICES:
        return _slices(engine, slo, starts, steps)
    total = _events(engine, total_rate(slo, pe.STEP_MS), starts, steps, step_ms)
    bad = _events(engine, error_rate(slo, pe.STEP_MS), starts, steps, step_ms)
    return bad, total
