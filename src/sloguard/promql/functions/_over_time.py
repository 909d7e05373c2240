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
from sloguard.promql.functions._range import range_result
from sloguard.promql.functions._registry import FuncCall, register
from sloguard.promql.functions._windows import Scan, Windows, kahan_inc


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
    return range_result(w, w.reduceat(np.fmax, m.values))


@register("min_over_time", 1)
def min_over_time(call: FuncCall) -> StepVector:
    m = matrix_arg(call, 0)
    w = Windows.of(m)
    return range_result(w, w.reduceat(np.fmin, m.values))


@register("sum_over_time", 1)
def sum_over_time(call: FuncCall) -> StepVector:
    m = matrix_arg(call, 0)
    w = Windows.of(m)
    scan = Scan.of(w)
    s, c = np.zeros(w.size), np.zeros(w.size)
    for _, a, x in scan.positions(m.values):
        s[:a], c[:a] = kahan_inc(x, s[:a], c[:a])
    total = np.where(np.isinf(s), s, s + c)
    return range_result(w, scan.unsort(total))


@register("avg_over_time", 1)
def avg_over_time(call: FuncCall) -> StepVector:
    m = matrix_arg(call, 0)
    w = Windows.of(m)
    scan = Scan.of(w)
    mean, c, count = np.zeros(w.size), np.zeros(w.size), np.zeros(w.size)
    for _, a, x in scan.positions(m.values):
        count[:a] += 1
        cur, n = mean[:a], count[:a]
        inf_mean = np.isinf(cur)
        same_inf = np.isinf(x) & ((cur > 0) == (x > 0))
        finite_x = ~np.isinf(x) & ~np.isnan(x)
        skip = inf_mean & (same_inf | finite_x)
        new_mean, new_c = kahan_inc(x / n - cur / n, cur, c[:a])
        mean[:a] = np.where(skip, cur, new_mean)
        c[:a] = np.where(skip, c[:a], new_c)
    return range_result(w, scan.unsort(np.where(np.isinf(mean), mean, mean + c)))


def _stdvar(call: FuncCall) -> tuple[Windows, F64]:
    m = matrix_arg(call, 0)
    w = Windows.of(m)
    scan = Scan.of(w)
    z = np.zeros
    count, mean, c_mean, aux, c_aux = z(w.size), z(w.size), z(w.size), z(w.size), z(w.size)
    for _, a, x in scan.positions(m.values):
        count[:a] += 1
        d = x - (mean[:a] + c_mean[:a])
        mean[:a], c_mean[:a] = kahan_inc(d / count[:a], mean[:a], c_mean[:a])
        inc = d * (x - (mean[:a] + c_mean[:a]))
        aux[:a], c_aux[:a] = kahan_inc(inc, aux[:a], c_aux[:a])
    return w, scan.unsort((aux + c_aux) / count)


@register("stdvar_over_time", 1)
def stdvar_over_time(call: FuncCall) -> StepVector:
    w, var = _stdvar(call)
    return range_result(w, var)


@register("stddev_over_time", 1)
def stddev_over_time(call: FuncCall) -> StepVector:
    w, var = _stdvar(call)
    return range_result(w, np.sqrt(var))


@register("quantile_over_time", 2)
def quantile_over_time(call: FuncCall) -> StepVector:
    q_all = scalar_arg(call, 0)
    m = matrix_arg(call, 1)
    w = Windows.of(m)
    idx, seg = w.gather()
    vals = m.values[idx]
    win = np.repeat(np.arange(w.size), w.lens)
    # Go sorts NaN first (vectorByValueHeap.Less), then ascending.
    order = np.lexsort((vals, ~np.isnan(vals), win))
    ordered = vals[order]
    q = q_all[w.steps]
    n = w.lens.astype(np.float64)
    rank = q * (n - 1)
    lower = np.maximum(0, np.floor(rank))
    upper = np.minimum(n - 1, lower + 1)
    weight = rank - np.floor(rank)
    ok = ~np.isnan(rank)
    last = w.lens - 1
    lo = seg + np.clip(np.where(ok, lower, 0), 0, last).astype(np.int64)
    hi = seg + np.clip(np.where(ok, upper, 0), 0, last).astype(np.int64)
    result = ordered[lo] * (1 - weight) + ordered[hi] * weight
    result = np.where(q < 0, -np.inf, np.where(q > 1, np.inf, result))
    return range_result(w, np.where(ok | (q < 0) | (q > 1), result, np.nan))


@register("absent_over_time", 1)
def absent_over_time(call: FuncCall) -> StepVector:
    m = matrix_arg(call, 0)
    any_sample = np.asarray((m.counts > 0).any(axis=0), np.bool_)
    labels: Labels = absent_labels(call.raw_args[0])
    return StepVector([labels], np.ones((1, call.k)), ~any_sample[None, :])
