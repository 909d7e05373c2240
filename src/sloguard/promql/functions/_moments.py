"""Means and variances of windows, as ``avg_over_time`` and ``stdvar_over_time`` compute
them in Prometheus 2.42.

Windows replay Go's loops sample by sample (the Kahan-compensated incremental mean with
its Inf rules; Welford with Kahan sums), so the results are Go's bit for bit. Few long
windows (see ``_kahan.use_blocks``) use an accurate blocked sum and a two-pass variance, giving the same outcomes for Inf/NaN and constant windows and values
within an ulp or so of Go's.
"""

from __future__ import annotations

import numpy as np

from sloguard.promql._steps import F64
from sloguard.promql.functions._kahan import use_blocks, window_kahan_sums
from sloguard.promql.functions._windows import Scan, Windows, kahan_inc

_SCALE = 2.0**-64


def _avg_exact(w: Windows, values: F64) -> F64:
    scan = Scan.of(w)
    mean, c, count = np.zeros(w.size), np.zeros(w.size), np.zeros(w.size)
    for _, a, x in scan.positions(values):
        count[:a] += 1
        cur, n = mean[:a], count[:a]
        inf_mean = np.isinf(cur)
        same_inf = np.isinf(x) & ((cur > 0) == (x > 0))
        finite_x = ~np.isinf(x) & ~np.isnan(x)
        skip = inf_mean & (same_inf | finite_x)
        new_mean, new_c = kahan_inc(x / n - cur / n, cur, c[:a])
        mean[:a] = np.where(skip, cur, new_mean)
        c[:a] = np.where(skip, c[:a], new_c)
    return scan.unsort(np.where(np.isinf(mean), mean, mean + c))


def _any_in_window(w: Windows, flag: np.ndarray) -> np.ndarray:
    csum = np.concatenate(([0], np.cumsum(flag.astype(np.int64))))
    return np.asarray(csum[w.starts + w.lens] - csum[w.starts] > 0, np.bool_)


def _avg_long(w: Windows, values: F64) -> F64:
    """NaN if any NaN or both infinities, else the infinity present, else sum / count
    (rescaled where the plain sum overflows, as Go's incremental mean does not)."""
    n = w.lens.astype(np.float64)
    ((s, c),) = window_kahan_sums(w.starts, w.lens, [values])
    mean = np.where(np.isinf(s), s, s + c) / n
    overflow = np.isinf(mean)
    if overflow.any():
        ((s2, c2),) = window_kahan_sums(w.starts, w.lens, [values * _SCALE])
        mean = np.where(overflow, ((s2 + c2) / n) / _SCALE, mean)
    pos = _any_in_window(w, np.isposinf(values))
    neg = _any_in_window(w, np.isneginf(values))
    nan = _any_in_window(w, np.isnan(values)) | (pos & neg)
    return np.where(nan, np.nan, np.where(pos, np.inf, np.where(neg, -np.inf, mean)))


def _long(w: Windows) -> bool:
    return use_blocks(w.lens)


def window_mean(w: Windows, values: F64) -> F64:
    return _avg_long(w, values) if _long(w) else _avg_exact(w, values)


def _variance_exact(w: Windows, values: F64) -> F64:
    scan = Scan.of(w)
    z = np.zeros
    count, mean, c_mean, aux, c_aux = z(w.size), z(w.size), z(w.size), z(w.size), z(w.size)
    for _, a, x in scan.positions(values):
        count[:a] += 1
        d = x - (mean[:a] + c_mean[:a])
        mean[:a], c_mean[:a] = kahan_inc(d / count[:a], mean[:a], c_mean[:a])
        inc = d * (x - (mean[:a] + c_mean[:a]))
        aux[:a], c_aux[:a] = kahan_inc(inc, aux[:a], c_aux[:a])
    return scan.unsort((aux + c_aux) / count)


def _variance_long(w: Windows, values: F64) -> F64:
    mean = _avg_long(w, values)
    out = np.empty(w.size)
    done = 0
    for chunk in w.chunks():
        idx, seg = chunk.gather()
        per = np.repeat(mean[done : done + chunk.size], chunk.lens)
        out[done : done + chunk.size] = np.add.reduceat((values[idx] - per) ** 2, seg) / chunk.lens
        done += chunk.size
    const = w.idempotent_reduce(np.fmax, values) == w.idempotent_reduce(np.fmin, values)
    return np.where(const & np.isfinite(mean), 0.0, out)


def window_variance(w: Windows, values: F64) -> F64:
    return _variance_long(w, values) if _long(w) else _variance_exact(w, values)
