"""Subqueries: the inner expression as a range query on an aligned grid, then windows."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sloguard.promql._ast import Subquery
from sloguard.promql._eval_rows import concat_steps
from sloguard.promql._eval_samples import cost
from sloguard.promql._selectors import windows
from sloguard.promql._steps import I64, StepMatrix, StepValue, StepVector
from sloguard.promql._value import ErrorType, PromQLError

if TYPE_CHECKING:
    from sloguard.promql._eval import Evaluator


def inner_steps(eff: I64, range_ms: int, step_ms: int, end_ms: int) -> I64:
    """Multiples of ``step_ms`` from the first one at or after ``min(eff) - range`` up to
    ``end_ms`` (Prometheus aligns subquery steps to absolute time, not to the query, and
    runs them to the end of the enclosing evaluation)."""
    if len(eff) == 0:
        return np.zeros(0, np.int64)
    lo = int(eff.min()) - range_ms
    start = -(-lo // step_ms) * step_ms
    return np.arange(start, max(end_ms, int(eff.max())) + 1, step_ms, dtype=np.int64)


def eval_subquery(ev: Evaluator, node: Subquery, steps: I64) -> StepMatrix:
    step = node.step_ms or ev.ctx.default_subquery_step_ms
    if step <= 0:
        raise PromQLError("subquery step must be positive", ErrorType.BAD_DATA)
    eff = ev.ref_times(node.at, node.offset_ms, steps)
    inner_end = int(eff.max()) if node.at is not None and len(eff) else ev.end_ms - node.offset_ms
    grid = inner_steps(eff, node.range_ms, step, inner_end)
    outer_end, ev.end_ms = ev.end_ms, inner_end
    # the inner steps are the subquery's own: its step-invariant parts run at grid[0]
    outer_at, ev.invariant_at = ev.invariant_at, None
    try:
        val = _eval_grid(ev, node, grid)
    finally:
        ev.end_ms, ev.invariant_at = outer_end, outer_at
    ev.ctx.limits.check_time()
    if not isinstance(val, StepVector):
        raise _not_vector()
    return to_matrix(val, grid, eff, node.range_ms)


def _not_vector() -> PromQLError:
    return PromQLError("subquery is only allowed on instant vector", ErrorType.BAD_DATA)


def _eval_grid(ev: Evaluator, node: Subquery, grid: I64) -> StepValue:
    """The inner expression over the grid; in chunks of grid points when the planner
    found that the whole grid would not fit ``chunk_cells`` (as range queries are)."""
    plan = ev.ctx.subquery_plans.get(id(node))
    budget = ev.ctx.chunk_cells
    if plan is None or budget <= 0 or plan.cells(len(grid)) <= budget:
        return ev.eval(node.expr, grid)
    chunk = plan.chunk_steps(budget, len(grid))
    limits = ev.ctx.limits
    before, held = limits.current, 0
    parts: list[StepVector] = []
    for i in range(0, len(grid), chunk):
        limits.check_time()
        part_grid = grid[i : i + chunk]
        ev.end_ms, ev.invariant_at = int(part_grid[-1]), int(grid[0])
        limits.current = before + held
        part = ev.eval(node.expr, part_grid)
        if not isinstance(part, StepVector):
            raise _not_vector()
        parts.append(part.prune())
        held += cost(parts[-1])
    limits.current = before + held
    return concat_steps(parts)


def to_matrix(val: StepVector, grid: I64, eff: I64, range_ms: int) -> StepMatrix:
    """Flatten a step vector into per-series samples and cut windows ending at ``eff``."""
    val = val.prune()
    rows, cols = np.nonzero(val.present)
    offsets = np.concatenate(([0], np.cumsum(val.present.sum(axis=1), dtype=np.int64)))
    ts = grid[cols] if len(grid) else np.zeros(0, np.int64)
    vs = val.values[rows, cols]
    return windows(val.labels, offsets.astype(np.int64), ts.astype(np.int64), vs, eff, range_ms)
