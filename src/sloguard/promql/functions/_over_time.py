"""``<aggregation>_over_time`` functions, ``absent_over_time`` and ``present_over_time``.

Sums and means follow Prometheus 2.42's sequential algorithms exactly (Kahan-Neumaier
``sum_over_time``, the Kahan-compensated incremental mean of ``avg_over_time`` with its
Inf rules, Welford
with Kahan for ``stdvar``), vectorised across windows by ``Scan``.
"""

from __future__ import annotations

import numpy as np

from sloguard.labels import Labels
from sloguard.promql._steps import F64, StepVector
from sloguard.promql.functions._absent import absent_labels
from sloguard.promql.functions._common import matrix_arg, scalar_arg
from sloguard.promql.functions._kahan import window_kahan_sums
from sloguard.promql.functions._moments import window_mean, window_variance
from sloguard.promql.functions._range import range_result
from sloguard.promql.functions._registry import FuncCall, register
from sloguard.promql.functions._windows import Windows


@register("count_over_time", 1)
def count_over_time(call: FuncCall) -> StepVector:
    w = Windows.of(matrix_arg(call, 0))
    return range_result(w, w.lens.astype(np.float64))


@register("present_over_time", 1)
def present_over_time(call: FuncCall) -> StepVector:
    w = Windows.of(matrix_arg(call, 0))
    return range_result(w, np.ones(w.size))


@register("last_over_time", 1, drops_metric_name=False)
def last_over_time(call: FuncCall) -> StepVector:
    m = matrix_arg(call, 0)
    w = Windows.of(m)
    return range_result(w, m.values[w.last], drop_name=False)


@register("max_over_time", 1)
def max_over_time(call: FuncCall) -> StepVector:
    m = matrix_arg(call, 0)
    w = Windows.of(m)  # Go: v > max || isNaN(max): NaN only when all are NaN, like fmax
    return range_result(w, w.idempotent_reduce(np.fmax, m.values))


@register("min_over_time", 1)
def min_over_time(call: FuncCall) -> StepVector:
    m = matrix_arg(call, 0)
    w = Windows.of(m)
    return range_result(w, w.idempotent_reduce(np.fmin, m.values))


@register("sum_over_time", 1)
def sum_over_time(call: FuncCall) -> StepVector:
    m = matrix_arg(call, 0)
    w = Windows.of(m)
    ((s, c),) = window_kahan_sums(w.starts, w.lens, [m.values])
    return range_result(w, np.where(np.isinf(s), s, s + c))


@register("avg_over_time", 1)
def avg_over_time(call: FuncCall) -> StepVector:
    m = matrix_arg(call, 0)
    w = Windows.of(m)
    return range_result(w, window_mean(w, m.values))


def _stdvar(call: FuncCall) -> tuple[Windows, F64]:
    m = matrix_arg(call, 0)
    w = Windows.of(m)
    return w, window_variance(w, m.values)


@register("stdvar_over_time", 1)
def stdvar_over_time(call: FuncCall) -> StepVector:
    w, var = _stdvar(call)
    return range_result(w, var)


@register("stddev_over_time", 1)
def stddev_over_time(call: FuncCall) -> StepVector:
    w, var = _stdvar(call)
    return range_result(w, np.sqrt(var))


def _go_sorted_rows(w: Windows, values: F64) -> tuple[F64, np.ndarray]:
    """Each window's samples as a row sorted like Go's ``vectorByValueHeap`` (NaN first,
    then ascending); rows are padded on the right. Returns (rows, NaN count per row)."""
    width = int(w.lens.max())
    pos = np.arange(width)
    valid = pos[None, :] < w.lens[:, None]
    idx = np.where(valid, w.starts[:, None] + pos[None, :], 0)
    rows = np.where(valid, values[idx], np.inf)
    nans = np.isnan(rows).sum(axis=1)
    rows.sort(axis=1)  # numpy: ascending, NaN last; NaNs are put first by the caller
    return rows, nans


def _quantile_chunk(w: Windows, q: F64, values: F64) -> F64:
    rows, nans = _go_sorted_rows(w, values)
    n = w.lens.astype(np.float64)
    rank = q * (n - 1)
    ok = ~np.isnan(rank)
    lower = np.clip(np.where(ok, np.maximum(0, np.floor(rank)), 0), 0, n - 1).astype(np.int64)
    upper = np.clip(np.where(ok, np.minimum(n - 1, lower + 1), 0), 0, n - 1).astype(np.int64)
    weight = rank - np.floor(rank)

    def at(i: np.ndarray) -> F64:  # position i of the Go order: NaNs first, then sorted values
        shifted = np.clip(i - nans, 0, rows.shape[1] - 1)
        return np.where(i < nans, np.nan, rows[np.arange(rows.shape[0]), shifted])

    result = at(lower) * (1 - weight) + at(upper) * weight
    result = np.where(ok, result, np.nan)
    return np.where(q < 0, -np.inf, np.where(q > 1, np.inf, result))


@register("quantile_over_time", 2)
def quantile_over_time(call: FuncCall) -> StepVector:
    q_all = scalar_arg(call, 0)
    m = matrix_arg(call, 1)
    w = Windows.of(m)
    out = np.empty(w.size)
    done = 0
    for chunk in w.chunks():
        out[done : done + chunk.size] = _quantile_chunk(chunk, q_all[chunk.steps], m.values)
        done += chunk.size
    return range_result(w, out)


@register("absent_over_time", 1)
def absent_over_time(call: FuncCall) -> StepVector:
    m = matrix_arg(call, 0)
    any_sample = np.asarray((m.counts > 0).any(axis=0), np.bool_)
    labels: Labels = absent_labels(call.raw_args[0])
    return StepVector([labels], np.ones((1, call.k)), ~any_sample[None, :])
