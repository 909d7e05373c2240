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
from sloguard.promql.functions._windows import KahanAcc, Scan, Windows

_SCALE = 2.0**-64


def _avg_exact(w: Windows, values: F64) -> F64:
    scan = Scan.of(w)
    acc = KahanAcc(w.size)  # acc.s is the running mean, acc.c its compensation
    infinite = bool(np.isinf(values).any())
    for j, a, x in scan.positions(values):
        n = float(j + 1)  # every window at position j has seen j + 1 samples
        cur = acc.s[:a]
        inc = x / n - cur / n
        skip = None
        if infinite:  # Go keeps an infinite mean when adding a finite or same-sign Inf
            skip = np.isinf(cur) & ((np.isinf(x) & ((cur > 0) == (x > 0))) | np.isfinite(x))
        if skip is not None and skip.any():
            keep_s, keep_c = cur[skip], acc.c[:a][skip]
            acc.add(a, inc)
            acc.s[:a][skip], acc.c[:a][skip] = keep_s, keep_c
        else:
            acc.add(a, inc)
    mean = acc.s
    return scan.unsort(np.where(np.isinf(mean), mean, mean + acc.c))


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
    mean, aux = KahanAcc(w.size), KahanAcc(w.size)
    for j, a, x in scan.positions(values):
        d = x - (mean.s[:a] + mean.c[:a])
        mean.add(a, d / float(j + 1))  # every window at position j has seen j + 1 samples
        aux.add(a, d * (x - (mean.s[:a] + mean.c[:a])))
    return scan.unsort((aux.s + aux.c) / scan.lens)


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
