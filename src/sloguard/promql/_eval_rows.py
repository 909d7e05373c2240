"""Row bookkeeping shared by the evaluator: label-set grouping and duplicate checks.

Grouping works on label-set signatures computed once per node (one Python pass over the
rows, never over steps); everything per step is numpy on ``(rows, steps)`` arrays.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np

from sloguard.labels import Labels
from sloguard.promql import _ast as ast
from sloguard.promql._steps import F64, I64, B, StepMatrix, StepScalar, StepValue, StepVector
from sloguard.promql._value import ErrorType, PromQLError

DUPLICATE_LABELSET = "vector cannot contain metrics with the same labelset"


def group_ids(keys: Sequence[Hashable]) -> tuple[I64, list[Hashable]]:
    """Dense ids in order of first appearance, and the distinct keys in that order."""
    index: dict[Hashable, int] = {}
    ids = np.fromiter((index.setdefault(k, len(index)) for k in keys), np.int64, len(keys))
    return ids, list(index)


def prom_labels_str(ls: Labels) -> str:
    """Prometheus' ``labels.Labels.String()``: ``{__name__="x", job="y"}``."""
    inner = ", ".join(f"{n}={_go_quote(v)}" for n, v in ls)
    return "{" + inner + "}"


def _go_quote(v: str) -> str:
    out = v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{out}"'


def keep_labels(ls: Labels, names: frozenset[str]) -> Labels:
    """``ls.keep(*names)`` without rebuilding the name set per call (hot loops)."""
    return Labels._sorted_unchecked(tuple(p for p in ls if p[0] in names))


def drop_labels(ls: Labels, names: frozenset[str]) -> Labels:
    """``ls.without(*names)`` without rebuilding the name set per call (hot loops)."""
    return Labels._sorted_unchecked(tuple(p for p in ls if p[0] not in names))


def merge_rows(
    labels: list[Labels], values: F64, present: B, sample_ts: I64 | None = None,
    message: str = DUPLICATE_LABELSET,
) -> StepVector:
    """Rows with equal label sets become one row; overlapping presence is an error."""
    if len(set(labels)) == len(labels):
        return StepVector(labels, values, present, sample_ts)
    ids, uniq = group_ids(labels)
    g = len(uniq)
    if any_overlap(ids, present):
        raise PromQLError(message, ErrorType.EXECUTION)
    out_v = np.zeros((g, present.shape[1]), np.float64)
    out_p = np.zeros((g, present.shape[1]), np.bool_)
    rows, cols = np.nonzero(present)
    out_v[ids[rows], cols] = values[rows, cols]
    out_p[ids[rows], cols] = True
    out_ts = None
    if sample_ts is not None:
        out_ts = np.zeros((g, present.shape[1]), np.int64)
        out_ts[ids[rows], cols] = sample_ts[rows, cols]
    return StepVector([ls for ls in uniq if isinstance(ls, Labels)], out_v, out_p, out_ts)


def group_starts(sorted_ids: I64) -> I64:
    """Start positions of each run of equal ids in a sorted id array."""
    if len(sorted_ids) == 0:
        return np.zeros(0, np.int64)
    return np.flatnonzero(np.concatenate(([True], sorted_ids[1:] != sorted_ids[:-1])))


def segment_reduce(ufunc: np.ufunc, x: np.ndarray, starts: I64) -> np.ndarray:
    """``ufunc.reduceat(x, starts, axis=0)`` for rows grouped in runs, much faster.

    numpy's ``reduceat`` along the row axis is slow; one ``reduce`` per multi-row run
    (rows added one after another, as Prometheus does) and one gather for all
    single-row runs is an order of magnitude quicker.
    """
    n = x.shape[0]
    if len(starts) == 0:
        return np.empty((0, *x.shape[1:]), x.dtype)
    if x.shape[1] == 1:
        return _reduce_column(ufunc, x, starts)
    ends = np.append(starts[1:], n)
    single = (ends - starts) == 1
    out = np.empty((len(starts), *x.shape[1:]), x.dtype)
    out[single] = x[starts[single]]
    for g in np.flatnonzero(~single).tolist():
        out[g] = ufunc.reduce(x[starts[g] : ends[g]], axis=0)
    return out


_SMALL_COLUMN = 256  # rows of one column up to which a Python loop is the cheaper sum


def _reduce_column(ufunc: np.ufunc, x: np.ndarray, starts: I64) -> np.ndarray:
    """``segment_reduce`` of one column (an instant query). numpy reduces a column
    pairwise, in another rounding order than Prometheus' adding rows one after another,
    so a sum runs in order: in Python floats (IEEE doubles) for a few rows, as a
    ``cumsum`` per group for many. Other ufuncs are order-independent: ``reduceat``."""
    if ufunc is not np.add:
        out: np.ndarray = ufunc.reduceat(x, starts, axis=0)
        return out
    col = x[:, 0]
    bounds = starts.tolist() + [len(col)]
    if len(col) > _SMALL_COLUMN:
        return np.array([np.cumsum(col[a:b])[-1] for a, b in zip(bounds[:-1], bounds[1:], strict=True)],
                        x.dtype).reshape(-1, 1)
    vals = col.tolist()
    sums = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        acc = vals[a]
        for v in vals[a + 1 : b]:
            acc += v
        sums.append(acc)
    return np.asarray(sums, x.dtype).reshape(-1, 1)


def overlap_counts(ids: I64, present: B) -> tuple[I64, I64]:
    """Present rows per (id, step): ``(distinct ids ascending, counts (g, k))``."""
    order = np.argsort(ids, kind="stable")
    sids = ids[order]
    starts = group_starts(sids)
    counts = segment_reduce(np.add, present[order].astype(np.int32), starts)
    return sids[starts], counts


def any_overlap(ids: I64, present: B) -> bool:
    """Whether two rows with the same id are present at the same step."""
    if len(ids) < 2:
        return False
    _, inverse, counts = np.unique(ids, return_inverse=True, return_counts=True)
    shared = counts[inverse] > 1  # only rows whose id repeats can overlap
    if not shared.any():
        return False
    return bool((overlap_counts(ids[shared], present[shared])[1] > 1).any())


def select_rows(v: StepVector, idx: I64, present: B | None = None) -> StepVector:
    """Rows ``idx`` of ``v`` (optionally with a new presence mask of that shape)."""
    ts = None if v.sample_ts is None else v.sample_ts[idx]
    p = v.present[idx] if present is None else present
    return StepVector([v.labels[i] for i in idx], v.values[idx], p, ts)


def count_present(v: StepVector) -> int:
    return int(np.count_nonzero(v.present))


#: Functions whose result depends on the evaluation time itself (Prometheus'
#: ``AtModifierUnsafeFunctions``): never step invariant.
AT_MODIFIER_UNSAFE = frozenset({
    "days_in_month", "day_of_month", "day_of_week", "day_of_year", "hour", "minute",
    "month", "year", "predict_linear", "time", "timestamp",
})


def is_step_invariant(node: ast.Node) -> bool:
    """Prometheus' ``preprocessExprHelper`` rule: the same value at every step."""
    match node:
        case ast.NumberLiteral() | ast.StringLiteral():
            return True
        case ast.VectorSelector():
            return node.at is not None
        case ast.MatrixSelector():
            return node.selector.at is not None
        case ast.Subquery():
            return node.at is not None
        case ast.Paren() | ast.Unary():
            return is_step_invariant(node.expr)
        case ast.Aggregate():
            # As upstream: only the aggregated expression counts, not the parameter.
            return is_step_invariant(node.expr)
        case ast.Binary():
            return is_step_invariant(node.lhs) and is_step_invariant(node.rhs)
        case ast.Call():
            return node.name not in AT_MODIFIER_UNSAFE and all(is_step_invariant(a) for a in node.args)
    return False


def broadcast(value: StepValue, k: int) -> StepValue:
    """A one-step value repeated over ``k`` steps."""
    match value:
        case StepScalar():
            return StepScalar(np.repeat(value.values, k))
        case StepVector():
            ts = None if value.sample_ts is None else np.repeat(value.sample_ts, k, axis=1)
            return StepVector(value.labels, np.repeat(value.values, k, axis=1), np.repeat(value.present, k, axis=1), ts)
        case StepMatrix():
            return StepMatrix(
                value.labels, value.offsets, value.timestamps, value.values,
                np.repeat(value.starts, k, axis=1), np.repeat(value.ends, k, axis=1),
                np.repeat(value.window_ends, k), value.range_ms,
            )
    return value


def concat_steps(parts: Sequence[StepVector]) -> StepVector:
    """Vectors of consecutive step ranges as one, rows matched by label set (a series
    missing from a part is absent at its steps)."""
    index: dict[Labels, int] = {}
    gids = [np.fromiter((index.setdefault(ls, len(index)) for ls in p.labels), np.int64, p.n) for p in parts]
    k = sum(p.present.shape[1] for p in parts)
    values = np.zeros((len(index), k), np.float64)
    present = np.zeros((len(index), k), np.bool_)
    col = 0
    for p, gid in zip(parts, gids, strict=True):
        width = p.present.shape[1]
        values[gid, col : col + width] = p.values
        present[gid, col : col + width] = p.present
        col += width
    return StepVector(list(index), values, present)
