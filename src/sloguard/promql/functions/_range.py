"""Rate-like functions over range vectors: rate, increase, delta, irate, idelta, deriv,
predict_linear, holt_winters, resets, changes (Prometheus 2.42 semantics).

Every function works on all windows of all series and steps at once (see ``_windows``).
"""

from __future__ import annotations

import numpy as np

from sloguard.promql._steps import F64, StepMatrix, StepVector
from sloguard.promql._value import PromQLError
from sloguard.promql.functions._common import drop_names, finish_vector, matrix_arg, scalar_arg
from sloguard.promql.functions._kahan import use_blocks, window_kahan_sums
from sloguard.promql.functions._registry import FuncCall, register
from sloguard.promql.functions._windows import KahanAcc, Scan, Windows


def range_result(w: Windows, values: F64, keep: np.ndarray | None = None, *, drop_name: bool = True) -> StepVector:
    """Per-window values as the function's instant vector (strict duplicate check)."""
    m = w.matrix
    out, present = w.scatter(values, keep)
    labels = drop_names(m.labels) if drop_name else list(m.labels)
    return finish_vector(labels, out, present, strict=True)


def _prev_same_series(m: StepMatrix) -> np.ndarray:
    """Per flat sample: True where the previous flat sample belongs to the same series."""
    same = np.ones(m.values.shape[0], np.bool_)
    same[m.offsets[:-1][m.offsets[:-1] < m.values.shape[0]]] = False
    return same


def _reset_positions(m: StepMatrix) -> np.ndarray:
    """Flat indices ``i`` where ``v[i] < v[i-1]`` within one series (counter resets)."""
    v = m.values
    if v.shape[0] < 2:
        return np.empty(0, np.int64)
    drop = v[1:] < v[:-1]
    bounds = m.offsets[1:-1]
    drop[bounds[(bounds > 0) & (bounds < v.shape[0])] - 1] = False
    return np.flatnonzero(drop) + 1


def _add_corrections(w: Windows, base: F64, resets: np.ndarray) -> F64:
    """``base + v[r1-1] + v[r2-1] + ...`` over the resets ``r`` after each window's first
    sample, added in sample order as Go does (resets are sparse: found by binary search)."""
    last = w.starts + w.lens - 1
    lo = np.searchsorted(resets, w.starts + 1, side="left")
    hi = np.searchsorted(resets, last, side="right")
    touched = np.flatnonzero(hi > lo)
    if touched.size == 0:
        return base
    scan = Scan.of_ranges(lo[touched], (hi - lo)[touched])
    acc = base[touched][scan.order]
    corrections = w.matrix.values[resets - 1]
    for _, a, x in scan.positions(corrections):
        acc[:a] = acc[:a] + x
    out = base.copy()
    out[touched] = scan.unsort(acc)
    return out


def extrapolated_rate(m: StepMatrix, is_counter: bool, is_rate: bool) -> StepVector:
    """Prometheus 2.42 ``extrapolatedRate`` for every window with two or more samples."""
    w = Windows.of(m, 2)
    ts, vs = m.timestamps, m.values
    first, last = w.first, w.last
    first_v, last_v = vs[first], vs[last]
    first_t, last_t = ts[first], ts[last]
    result = last_v - first_v
    if is_counter:
        result = _add_corrections(w, result, _reset_positions(m))
    range_start, range_end = w.range_bounds()
    to_start = (first_t - range_start).astype(np.float64) / 1000
    to_end = (range_end - last_t).astype(np.float64) / 1000
    sampled = (last_t - first_t).astype(np.float64) / 1000
    avg_gap = sampled / (w.lens - 1).astype(np.float64)
    if is_counter:
        to_zero = sampled * (first_v / result)
        clamp = (result > 0) & (first_v >= 0) & (to_zero < to_start)
        to_start = np.where(clamp, to_zero, to_start)
    threshold = avg_gap * 1.1
    interval = sampled + np.where(to_start < threshold, to_start, avg_gap / 2)
    interval = interval + np.where(to_end < threshold, to_end, avg_gap / 2)
    # Go scales once by a combined factor (interval / sampled, then / range seconds);
    # the order of these float operations decides the last bit of the result.
    factor = interval / sampled
    if is_rate:
        factor = factor / _seconds(m.range_ms)
    return range_result(w, result * factor)


def _seconds(ms: int) -> float:
    """Go's ``Duration.Seconds()`` for a millisecond duration."""
    return float(ms // 1000) + float(ms % 1000) * 1e6 / 1e9


@register("rate", 1)
def rate(call: FuncCall) -> StepVector:
    return extrapolated_rate(matrix_arg(call, 0), True, True)


@register("increase", 1)
def increase(call: FuncCall) -> StepVector:
    return extrapolated_rate(matrix_arg(call, 0), True, False)


@register("delta", 1)
def delta(call: FuncCall) -> StepVector:
    return extrapolated_rate(matrix_arg(call, 0), False, False)


def _instant_value(m: StepMatrix, is_rate: bool) -> StepVector:
    w = Windows.of(m, 2)
    last, prev = w.last, w.last - 1
    lv, pv = m.values[last], m.values[prev]
    result = np.where(is_rate & (lv < pv), lv, lv - pv)
    gap = m.timestamps[last] - m.timestamps[prev]
    if is_rate:
        result = result / (gap.astype(np.float64) / 1000)
    return range_result(w, result, gap != 0)


@register("irate", 1)
def irate(call: FuncCall) -> StepVector:
    return _instant_value(matrix_arg(call, 0), True)


@register("idelta", 1)
def idelta(call: FuncCall) -> StepVector:
    return _instant_value(matrix_arg(call, 0), False)


def _regression_sums(w: Windows, intercept_ms: np.ndarray) -> list[F64]:
    """Kahan sums of x, y, x*y, x*x per window (x in seconds from the window's origin)."""
    m = w.matrix
    if use_blocks(w.lens):
        return _regression_sums_blocked(w, intercept_ms)
    scan = Scan.of(w)
    origin = intercept_ms[scan.order]
    accs = [KahanAcc(w.size) for _ in range(4)]
    for j, a, y in scan.positions(m.values):
        x = (m.timestamps[scan.starts[:a] + j] - origin[:a]) / 1e3
        for acc, term in zip(accs, (x, y, x * y, x * x), strict=True):
            acc.add(a, term)
    return [scan.unsort(acc.s + acc.c) for acc in accs]


def _regression_sums_blocked(w: Windows, intercept_ms: np.ndarray) -> list[F64]:
    """Few long windows: per-window copies of the samples, summed in blocks (``_kahan``)."""
    m = w.matrix
    out = [np.empty(w.size) for _ in range(4)]
    done = 0
    for chunk in w.chunks():
        idx, seg = chunk.gather()
        xs = (m.timestamps[idx] - np.repeat(intercept_ms[done : done + chunk.size], chunk.lens)) / 1e3
        ys = m.values[idx]
        sums = window_kahan_sums(seg, chunk.lens, [xs, ys, xs * ys, xs * xs])
        for o, (s, c) in zip(out, sums, strict=True):
            o[done : done + chunk.size] = s + c
        done += chunk.size
    return out


def _linear_regression(w: Windows, intercept_ms: np.ndarray) -> tuple[F64, F64]:
    """Prometheus' ``linearRegression`` (Kahan sums, constant-y shortcut) per window;
    ``intercept_ms`` gives the x origin of each window."""
    y = w.matrix.values
    sx, sy, sxy, sx2 = _regression_sums(w, intercept_ms)
    n = w.lens.astype(np.float64)
    cov_xy = sxy - sx * sy / n
    var_x = sx2 - sx * sx / n
    slope = cov_xy / var_x
    intercept = sy / n - slope * sx / n
    init_y = y[w.starts]
    const_y = w.idempotent_reduce(np.fmax, y) == w.idempotent_reduce(np.fmin, y)
    const_y &= ~_any_nan(w, y)
    inf_y = np.isinf(init_y)
    slope = np.where(const_y, np.where(inf_y, np.nan, 0.0), slope)
    intercept = np.where(const_y, np.where(inf_y, np.nan, init_y), intercept)
    return slope, intercept


def _any_nan(w: Windows, y: F64) -> np.ndarray:
    csum = np.concatenate(([0], np.cumsum(np.isnan(y).astype(np.int64))))
    return np.asarray(csum[w.starts + w.lens] - csum[w.starts] > 0, np.bool_)


@register("deriv", 1)
def deriv(call: FuncCall) -> StepVector:
    m = matrix_arg(call, 0)
    w = Windows.of(m, 2)
    slope, _ = _linear_regression(w, m.timestamps[w.first])
    return range_result(w, slope)


@register("predict_linear", 2, time_dependent=True)
def predict_linear(call: FuncCall) -> StepVector:
    m = matrix_arg(call, 0)
    duration = scalar_arg(call, 1)
    w = Windows.of(m, 2)
    slope, intercept = _linear_regression(w, call.steps[w.steps])
    return range_result(w, slope * duration[w.steps] + intercept)


def _check_factor(values: np.ndarray, what: str, short: str) -> None:
    bad = (values <= 0) | (values >= 1) | np.isnan(values)
    if bad.any():
        got = float(values[np.flatnonzero(bad)[0]])
        raise PromQLError(f"invalid {what} factor. Expected: 0 < {short} < 1, got: {got:f}")


@register("holt_winters", 3)
def holt_winters(call: FuncCall) -> StepVector:
    m = matrix_arg(call, 0)
    sf_all, tf_all = scalar_arg(call, 1), scalar_arg(call, 2)
    used = Windows.of(m, 1)
    _check_factor(sf_all[np.unique(used.steps)], "smoothing", "sf")
    _check_factor(tf_all[np.unique(used.steps)], "trend", "tf")
    w = Windows.of(m, 2)
    scan = Scan.of(w)
    sf, tf = sf_all[w.steps][scan.order], tf_all[w.steps][scan.order]
    v = m.values
    s0 = np.zeros(w.size)
    s1 = v[scan.starts].copy()
    b = v[scan.starts + 1] - v[scan.starts]
    for j, a, y in scan.positions(v, first=1):
        x = sf[:a] * y
        if j > 1:  # calcTrendValue(i-1, ...) returns b unchanged for i-1 == 0
            b[:a] = tf[:a] * (s1[:a] - s0[:a]) + (1 - tf[:a]) * b[:a]
        yy = (1 - sf[:a]) * (s1[:a] + b[:a])
        s0[:a], s1[:a] = s1[:a], x + yy
    return range_result(w, scan.unsort(s1))


def _count_pairs(m: StepMatrix, flag: np.ndarray) -> StepVector:
    """Number of samples ``i`` in each window (after its first) with ``flag[i]``."""
    w = Windows.of(m, 1)
    csum = np.concatenate(([0], np.cumsum(flag.astype(np.int64))))
    counts = csum[w.last + 1] - csum[w.first + 1]
    return range_result(w, counts.astype(np.float64))


@register("resets", 1)
def resets(call: FuncCall) -> StepVector:
    m = matrix_arg(call, 0)
    w = Windows.of(m, 1)
    pos = _reset_positions(m)
    counts = np.searchsorted(pos, w.last, side="right") - np.searchsorted(pos, w.first + 1)
    return range_result(w, counts.astype(np.float64))


@register("changes", 1)
def changes(call: FuncCall) -> StepVector:
    m = matrix_arg(call, 0)
    v = m.values
    flag = np.zeros(v.shape[0], np.bool_)
    both_nan = np.isnan(v[1:]) & np.isnan(v[:-1])
    flag[1:] = (v[1:] != v[:-1]) & ~both_nan & _prev_same_series(m)[1:]
    return _count_pairs(m, flag)
