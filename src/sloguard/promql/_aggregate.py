"""Aggregation operators, vectorised: rows are sorted by group once, then every
aggregate is a segmented reduce (or a per-column sort) over ``(rows, steps)`` arrays."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from sloguard.gofmt import go_float
from sloguard.labels import Labels
from sloguard.promql._aggregate_count_values import count_values
from sloguard.promql._aggregate_topk import REPLAY_BUDGET, replay, select
from sloguard.promql._ast import Aggregate
from sloguard.promql._eval_rows import (
    drop_labels,
    group_ids,
    group_starts,
    keep_labels,
    segment_reduce,
)
from sloguard.promql._steps import F64, I64, B, StepScalar, StepString, StepValue, StepVector
from sloguard.promql._value import ErrorType, PromQLError

_INT64_MAX = 9.223372036854775807e18


def aggregate(node: Aggregate, vec: StepVector, param: StepValue | None) -> StepVector:
    if node.op == "count_values":
        if not isinstance(param, StepString):
            raise PromQLError("count_values needs a string parameter", ErrorType.BAD_DATA)
        return count_values(node, vec, param.value)
    op, grouping = node.op, node.grouping
    if node.without:
        drop = frozenset((*grouping, "__name__"))
        gid, uniq = group_ids([drop_labels(ls, drop) for ls in vec.labels])
    elif grouping:
        keep = frozenset(grouping)
        gid, uniq = group_ids([keep_labels(ls, keep) for ls in vec.labels])
    else:  # one group of everything
        gid, uniq = np.zeros(vec.n, np.int64), [Labels()] if vec.n else []
    groups = _Groups(gid, vec)
    glabels: list[Labels] = [g for g in uniq if isinstance(g, Labels)]
    match op:
        case "topk" | "bottomk":
            return _topk(groups, vec, _k_param(param), op == "topk")
        case "quantile":
            vals = _quantile(groups, _scalar(param, node.op))
        case _:
            vals = _reduce(op, groups)
    present = groups.any_present()
    return StepVector(glabels, vals, present).prune()


class _Groups:
    """Rows sorted by group id: ``values``/``present`` permuted, ``starts`` of each group."""

    def __init__(self, gid: I64, vec: StepVector) -> None:
        self.order = np.argsort(gid, kind="stable")
        self.gid = gid[self.order]
        self.starts = group_starts(self.gid)
        self.values: F64 = vec.values[self.order]
        self.present: B = vec.present[self.order]
        self.k = vec.present.shape[1]

    def sum(self, x: F64) -> F64:
        if len(self.starts) == 0:
            return np.zeros((0, self.k), np.float64)
        return segment_reduce(np.add, x, self.starts)

    def count(self) -> F64:
        return self.sum(self.present.astype(np.float64))

    def any_present(self) -> B:
        if len(self.starts) == 0:
            return np.zeros((0, self.k), np.bool_)
        return segment_reduce(np.logical_or, self.present, self.starts)

    def masked(self, fill: float) -> F64:
        return np.where(self.present, self.values, fill)


def _reduce(op: str, g: _Groups) -> F64:
    with np.errstate(all="ignore"):
        match op:
            case "sum":
                return g.sum(g.masked(0.0))
            case "count":
                return g.count()
            case "group":
                return np.ones((len(g.starts), g.k), np.float64)
            case "avg":
                return _avg(g)
            case "max":
                return _nan_reduce(np.fmax, g)
            case "min":
                return _nan_reduce(np.fmin, g)
            case "stddev":
                return np.sqrt(_stdvar(g))
            case "stdvar":
                return _stdvar(g)
    raise PromQLError(f"unknown aggregation operator {op!r}", ErrorType.BAD_DATA)


def _nan_reduce(fn: np.ufunc, g: _Groups) -> F64:
    """max/min prefer any number over NaN, as Prometheus does; NaN only if all are NaN."""
    if len(g.starts) == 0:
        return np.zeros((0, g.k), np.float64)
    return segment_reduce(fn, g.masked(np.nan), g.starts)


def _rows_by_rank(g: _Groups) -> list[tuple[I64, F64, B]]:
    """The groups' rows in Prometheus' order: for rank r, the groups that have an r-th
    row, and that row's values and presence (shape ``(groups with it, steps)``)."""
    sizes = np.diff(np.append(g.starts, len(g.gid)))
    out = []
    for r in range(int(sizes.max()) if len(sizes) else 0):
        has = np.flatnonzero(sizes > r)
        rows = g.starts[has] + r
        out.append((has, g.values[rows], g.present[rows]))
    return out


def _avg(g: _Groups) -> F64:
    """Prometheus 2.42's running mean: the first sample starts it, each later one adds
    ``v/n - mean/n`` (no overflow on huge values); an infinite mean stays as it is unless
    a NaN or an infinity of the other sign comes."""
    if g.k == 1:
        return _per_group_column(g, _avg_of)
    shape = (len(g.starts), g.k)
    mean = np.zeros(shape, np.float64)
    cnt = np.zeros(shape, np.float64)
    with np.errstate(all="ignore"):
        for has, v, p in _rows_by_rank(g):
            m, c = mean[has], cnt[has]
            first = p & (c == 0)
            c = np.where(p, c + 1, c)
            inf_mean = np.isinf(m)
            keep = inf_mean & ((np.isinf(v) & ((m > 0) == (v > 0))) | (~np.isinf(v) & ~np.isnan(v)))
            later = p & ~first & ~keep
            m = np.where(first, v, np.where(later, m + (v / c - m / c), m))
            mean[has], cnt[has] = m, c
    return mean


def _stdvar(g: _Groups) -> F64:
    """Prometheus 2.42's running (Welford) variance: the first sample sets the mean and a
    variance of 0, each later one adds ``delta * (v - new mean)``; divided by the count."""
    if g.k == 1:
        return _per_group_column(g, _stdvar_of)
    shape = (len(g.starts), g.k)
    mean = np.zeros(shape, np.float64)
    acc = np.zeros(shape, np.float64)
    cnt = np.zeros(shape, np.float64)
    with np.errstate(all="ignore"):
        for has, v, p in _rows_by_rank(g):
            m, a, c = mean[has], acc[has], cnt[has]
            first = p & (c == 0)
            later = p & ~first
            c = np.where(p, c + 1, c)
            delta = v - m
            new_m = m + delta / c
            a = np.where(later, a + delta * (v - new_m), a)
            m = np.where(first, v, np.where(later, new_m, m))
            mean[has], acc[has], cnt[has] = m, a, c
        return acc / cnt


def _per_group_column(g: _Groups, fold: Callable[[list[float]], float]) -> F64:
    """One step (an instant query): each group's present values folded in Python floats."""
    vals = g.values[:, 0].tolist()
    pres = g.present[:, 0].tolist()
    bounds = g.starts.tolist() + [len(vals)]
    out = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        xs = [v for v, p in zip(vals[a:b], pres[a:b], strict=True) if p]
        out.append(fold(xs) if xs else 0.0)
    return np.asarray(out, np.float64).reshape(-1, 1)


def _avg_of(xs: list[float]) -> float:
    mean, n = xs[0], 1
    for v in xs[1:]:
        n += 1
        if math.isinf(mean) and ((math.isinf(v) and (mean > 0) == (v > 0)) or not (math.isinf(v) or math.isnan(v))):
            continue
        mean += v / n - mean / n
    return mean


def _stdvar_of(xs: list[float]) -> float:
    mean, acc, n = xs[0], 0.0, 1
    for v in xs[1:]:
        n += 1
        delta = v - mean
        mean += delta / n
        acc += delta * (v - mean)
    return acc / n


def _scalar(param: StepValue | None, op: str) -> F64:
    if not isinstance(param, StepScalar):
        raise PromQLError(f"expected a scalar parameter for {op}", ErrorType.BAD_DATA)
    return param.values


def _k_param(param: StepValue | None) -> I64:
    f = _scalar(param, "topk/bottomk")
    bad = ~((f <= _INT64_MAX) & (f >= -_INT64_MAX))
    if bad.any():
        raise PromQLError(f"Scalar value {go_float(float(f[bad][0]))} overflows int64", ErrorType.EXECUTION)
    return np.trunc(f).astype(np.int64)


def _topk(g: _Groups, vec: StepVector, k: I64, top: bool) -> StepVector:
    rows = g.order
    if g.k == 1 and len(rows) <= REPLAY_BUDGET:
        # One step (an instant query): Prometheus' own choice and output order.
        seq = np.asarray(_replay_instant(g, int(k[0]), top), np.int64)
        return StepVector([vec.labels[i] for i in rows[seq]], g.values[seq, :1], np.ones((len(seq), 1), np.bool_))
    keep, ties = select(g.values, g.present, g.starts, k, top)
    if ties.any():
        _replay_ties(g, keep, ties, k, top)
    back = np.argsort(rows)
    return StepVector(vec.labels, g.values[back], keep[back]).prune()


def _group_rows(g: _Groups, gi: int, step: int) -> list[int]:
    end = int(g.starts[gi + 1]) if gi + 1 < len(g.starts) else len(g.gid)
    span = np.arange(int(g.starts[gi]), end)
    return span[g.present[span, step]].tolist()  # type: ignore[no-any-return]


def _replay_instant(g: _Groups, k: int, top: bool) -> list[int]:
    if k < 1:
        return []
    seq: list[int] = []
    for gi in range(len(g.starts)):
        prs = _group_rows(g, gi, 0)
        vals = g.values[prs, 0].tolist()
        seq.extend(prs[c] for c in replay(vals, k, top))
    return seq


def _replay_ties(g: _Groups, keep: B, ties: B, k: I64, top: bool) -> None:
    budget = REPLAY_BUDGET
    for gi, step in np.argwhere(ties).tolist():
        prs = _group_rows(g, gi, step)
        budget -= len(prs)
        if budget < 0:
            return
        chosen = replay(g.values[prs, step].tolist(), int(k[step]), top)
        keep[prs, step] = False
        keep[[prs[c] for c in chosen], step] = True


def _quantile(g: _Groups, q: F64) -> F64:
    """Prometheus' ``quantile``: NaN sorts first, then linear interpolation between the
    two closest ranks (the formula as upstream writes it, Inf * 0 included)."""
    out = np.full((len(g.starts), g.k), np.nan)
    ends = np.append(g.starts[1:], len(g.gid))
    with np.errstate(all="ignore"):
        for gi in range(len(g.starts)):
            out[gi] = _quantile_block(g.values[g.starts[gi] : ends[gi]], g.present[g.starts[gi] : ends[gi]], q)
    return out


def _quantile_block(values: F64, present: B, q: F64) -> F64:
    nan = np.isnan(values) & present
    srt = np.sort(np.where(present & ~nan, values, np.inf), axis=0)
    cnt = present.sum(axis=0)
    n_nan = nan.sum(axis=0)
    rank = q * (cnt - 1)
    lower = np.maximum(0, np.floor(rank))
    upper = np.minimum(cnt - 1, lower + 1)
    weight = rank - np.floor(rank)
    cols = np.arange(values.shape[1])

    def at(idx: F64) -> F64:
        i = np.nan_to_num(idx).astype(np.int64)
        v = srt[np.clip(i - n_nan, 0, len(srt) - 1), cols]
        return np.where(i < n_nan, np.nan, v)

    res = at(lower) * (1 - weight) + at(upper) * weight
    res = np.where(q < 0, -np.inf, np.where(q > 1, np.inf, res))
    return np.where(cnt == 0, np.nan, res)
