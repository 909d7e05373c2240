"""A range query evaluated in chunks of steps, and its result put together.

Every step of a PromQL range query is independent of the others (Prometheus evaluates
them one by one), so the steps can be split into chunks evaluated one after the other:
the working set is one chunk's, not the whole query's. What stays is the output, as in
Prometheus, where the result matrix is held (and counted against ``max_samples``) whole.
Each chunk keeps the query's own start and end for ``@ start()``/``@ end()``, evaluates
step-invariant parts at the query's first step, and runs subqueries up to the chunk's
last step (their grid is aligned to absolute time, so its points are the same).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sloguard.labels import Labels
from sloguard.promql._ast import Node
from sloguard.promql._eval import Evaluator
from sloguard.promql._eval_samples import cost
from sloguard.promql._limits import QueryLimits
from sloguard.promql._steps import F64, I64, StepScalar, StepValue, StepVector
from sloguard.promql._value import ErrorType, Matrix, PromQLError, QueryResult, Series, ValueType


def eval_chunks(
    new_evaluator: Callable[[], Evaluator], node: Node, steps: I64, chunk: int, limits: QueryLimits
) -> list[StepValue]:
    """``node`` at ``steps``, ``chunk`` steps at a time; the parts in step order.

    The output of earlier chunks stays counted in ``limits``, so a query whose result
    alone exceeds ``max_samples`` is refused once it gets there, not after it is built.
    """
    parts: list[StepValue] = []
    held = 0
    for i in range(0, len(steps), chunk):
        limits.check_time()
        part_steps = steps[i : i + chunk]
        ev = new_evaluator()
        ev.end_ms = int(part_steps[-1])
        ev.invariant_at = int(steps[0])
        limits.current = held
        part = ev.eval(node, part_steps)
        if isinstance(part, StepVector):
            part = part.prune()
        held += cost(part)
        limits.current = held
        parts.append(part)
    return parts


def assemble_range_result(parts: list[StepValue], steps: I64) -> QueryResult:
    """The range query's matrix from its chunks' values, series sorted by labels."""
    if parts and all(isinstance(p, StepScalar) for p in parts):
        values = np.concatenate([p.values for p in parts if isinstance(p, StepScalar)])
        return QueryResult([Series(Labels(), steps.copy(), values)], ValueType.MATRIX)
    rows: list[I64] = []
    cols: list[I64] = []
    vals: list[F64] = []
    index: dict[Labels, int] = {}
    offset = 0
    for part in parts:
        if not isinstance(part, StepVector):
            raise PromQLError(f"unexpected result value {part!r}", ErrorType.INTERNAL)
        gid = np.fromiter((index.setdefault(ls, len(index)) for ls in part.labels), np.int64, part.n)
        r, c = np.nonzero(part.present)
        rows.append(gid[r])
        cols.append(c + offset)
        vals.append(part.values[r, c])
        offset += part.present.shape[1]
    return QueryResult(_series(index, rows, cols, vals, steps), ValueType.MATRIX)


def _series(
    index: dict[Labels, int], rows: list[I64], cols: list[I64], vals: list[F64], steps: I64
) -> Matrix:
    if not index:
        return []
    labels = list(index)
    by_label = sorted(range(len(labels)), key=labels.__getitem__)
    rank = np.empty(len(labels), np.int64)
    rank[by_label] = np.arange(len(labels))
    r, c, v = rank[np.concatenate(rows)], np.concatenate(cols), np.concatenate(vals)
    order = np.lexsort((c, r))
    r, c, v = r[order], c[order], v[order]
    bounds = np.flatnonzero(np.diff(r)) + 1
    by_rank = [labels[i] for i in by_label]
    out: Matrix = []
    for rr, cc, vv in zip(np.split(r, bounds), np.split(c, bounds), np.split(v, bounds), strict=True):
        if len(rr):
            out.append(Series(by_rank[int(rr[0])], steps[cc], vv))
    return out
