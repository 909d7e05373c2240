"""histogram_quantile on classic ``le`` buckets, exactly like Prometheus' ``bucketQuantile``
(coalescing of equal bounds, the monotonicity fix, NaN and Inf cases), vectorised over
all histograms and steps: buckets are laid out as (histogram, bucket, step) arrays.

The native-histogram functions (histogram_count, histogram_sum, histogram_fraction) ignore
float samples in Prometheus 2.42, so over classic data they return empty vectors.
"""

from __future__ import annotations

import numpy as np

from sloguard.labels import METRIC_NAME, Labels
from sloguard.promql._steps import F64, I64, B, StepVector
from sloguard.promql.functions._common import finish_vector, go_parse_float, scalar_arg, vector_arg
from sloguard.promql.functions._registry import FuncCall, register


def _group_rows(v: StepVector) -> tuple[list[Labels], I64, I64, F64]:
    """(output labels per histogram, row indices used, histogram of each, bound of each)."""
    keys: dict[Labels, int] = {}
    out: list[Labels] = []
    rows, hist, bounds = [], [], []
    for i, ls in enumerate(v.labels):
        bound = go_parse_float(ls.get("le"))
        if bound is None:
            continue  # no bucket label or a malformed one: skipped, as in Prometheus
        key = ls.without("le")
        if key not in keys:
            keys[key] = len(out)
            out.append(key.without(METRIC_NAME))
        rows.append(i)
        hist.append(keys[key])
        bounds.append(bound)
    return (out, np.asarray(rows, np.int64), np.asarray(hist, np.int64),
            np.asarray(bounds, np.float64))


def _bucket_grid(v: StepVector, hist: I64, rows: I64, bounds: F64, g: int) -> tuple[F64, F64, B]:
    """Coalesce equal bounds and lay buckets out sorted: (bounds (g,s), counts (g,s,k),
    present (g,s,k))."""
    order = np.lexsort((bounds, hist))
    h, b, r = hist[order], bounds[order], rows[order]
    new_slot = np.ones(h.shape[0], np.bool_)
    new_slot[1:] = (h[1:] != h[:-1]) | (b[1:] != b[:-1])
    slot_id = np.cumsum(new_slot) - 1
    hist_first = np.full(g, np.iinfo(np.int64).max)
    np.minimum.at(hist_first, h, slot_id)
    pos = slot_id - hist_first[h]
    s = int(pos.max()) + 1 if pos.size else 1
    k = v.values.shape[1]
    up = np.full((g, s), np.inf)
    up[h, pos] = b
    counts = np.zeros((g, s, k))
    present = np.zeros((g, s, k), np.bool_)
    p = v.present[r]
    np.add.at(counts, (h, pos), np.where(p, v.values[r], 0.0))
    np.logical_or.at(present, (h, pos), p)
    return up, counts, present


def _quantiles(q: F64, up: F64, counts: F64, present: B) -> F64:
    """``bucketQuantile`` for every (histogram, step); shape (g, k)."""
    g, s, k = counts.shape
    order = np.argsort(~present, axis=1, kind="stable")  # present buckets first, in order
    c = np.take_along_axis(counts, order, axis=1)
    u = np.take_along_axis(np.broadcast_to(up[:, :, None], (g, s, k)), order, axis=1)
    n = present.sum(axis=1)
    valid = np.arange(s)[None, :, None] < n[:, None, :]
    running = np.fmax.accumulate(np.where(valid, c, -np.inf), axis=1)
    c = np.where(np.isnan(c), np.nan, running)  # ensureMonotonic leaves NaN counts alone

    def at(arr: F64, idx: I64) -> F64:
        return np.take_along_axis(arr, np.clip(idx, 0, s - 1)[:, None, :], axis=1)[:, 0, :]

    last = n - 1
    observations = at(c, last)
    rank = q[None, :] * observations
    lo, hi = np.zeros_like(n), np.maximum(last, 0)
    for _ in range(max(1, int(np.ceil(np.log2(s + 1))) + 1)):
        active = lo < hi
        mid = (lo + hi) // 2
        ok = at(c, mid) >= rank
        lo = np.where(active & ~ok, mid + 1, lo)
        hi = np.where(active & ok, mid, hi)
    b = lo
    prev_c = np.where(b > 0, at(c, b - 1), 0.0)
    start = np.where(b > 0, at(u, b - 1), 0.0)
    end = at(u, b)
    interp = start + (end - start) * ((rank - prev_c) / (at(c, b) - prev_c))
    result = np.where(b == last, at(u, last - 1), interp)
    result = np.where((b == 0) & (u[:, 0, :] <= 0) & (b != last), u[:, 0, :], result)
    nan = ~np.isposinf(at(u, last)) | (n < 2) | (observations == 0)
    result = np.where(nan, np.nan, result)
    qq = np.broadcast_to(q[None, :], result.shape)
    result = np.where(qq > 1, np.inf, np.where(qq < 0, -np.inf, result))
    return np.where(np.isnan(qq), np.nan, result)


@register("histogram_quantile", 2)
def histogram_quantile(call: FuncCall) -> StepVector:
    q = scalar_arg(call, 0)
    v = vector_arg(call, 1)
    labels, rows, hist, bounds = _group_rows(v)
    if not labels:
        return StepVector.empty(call.k)
    up, counts, present = _bucket_grid(v, hist, rows, bounds, len(labels))
    values = _quantiles(q, up, counts, present)
    return finish_vector(labels, values, np.asarray(present.any(axis=1), np.bool_))


def _native_only(call: FuncCall) -> StepVector:
    return StepVector.empty(call.k)


register("histogram_count", 1)(_native_only)
register("histogram_sum", 1)(_native_only)
register("histogram_fraction", 3)(_native_only)
