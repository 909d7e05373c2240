"""Vector and matrix selectors over a ``SeriesBatch``, for all steps at once.

Both selectors reduce to one question: for every series and every reference time, where
does that time fall in the series' sorted timestamps? ``search_per_series`` answers it
with a single ``np.searchsorted`` over all series by giving each series its own band
of a combined int64 key (falling back to one search per series when the bands would
overflow int64).
"""

from __future__ import annotations

import numpy as np

from sloguard.promql._steps import I64, StepMatrix, StepVector
from sloguard.tsdb import SeriesBatch, stale_mask

_KEY_LIMIT = 1 << 62


def search_per_series(offsets: I64, ts: I64, refs: I64, side: str) -> I64:
    """Absolute indices ``np.searchsorted(ts[series i], refs, side) + offsets[i]``, shape (n, k)."""
    n = len(offsets) - 1
    k = len(refs)
    if n == 0 or k == 0:
        return np.zeros((n, k), np.int64)
    if len(ts) == 0:
        return np.broadcast_to(offsets[:-1, None], (n, k)).copy()
    lo = min(int(ts.min()), int(refs.min()))
    hi = max(int(ts.max()), int(refs.max()))
    span = hi - lo + 1
    if n * span < _KEY_LIMIT:
        sid = np.repeat(np.arange(n, dtype=np.int64), np.diff(offsets))
        key = (ts - lo) + sid * span
        qk = (refs - lo)[None, :] + (np.arange(n, dtype=np.int64) * span)[:, None]
        found: I64 = np.searchsorted(key, qk.ravel(), side=side)  # type: ignore[call-overload]
        return found.reshape(n, k).astype(np.int64)
    out = np.empty((n, k), np.int64)
    for i in range(n):
        a, b = int(offsets[i]), int(offsets[i + 1])
        out[i] = np.searchsorted(ts[a:b], refs, side=side) + a  # type: ignore[call-overload]
    return out


def instant_vector(batch: SeriesBatch, refs: I64, lookback_ms: int, want_ts: bool) -> StepVector:
    """The latest sample at or before each reference time, within the lookback window.

    As in Prometheus 2.x the window ``[ref - lookback, ref]`` is closed at both ends, and
    a staleness marker as the latest sample means no sample.
    """
    n, k = len(batch.labels), len(refs)
    if n == 0:
        return StepVector.empty(k)
    last = search_per_series(batch.offsets, batch.timestamps, refs, "right") - 1
    valid = last >= batch.offsets[:-1, None]
    idx = np.maximum(last, 0)
    if len(batch.timestamps) == 0:
        return StepVector.empty(k)
    t = batch.timestamps[idx]
    v = batch.values[idx]
    present = valid & (t >= (refs - lookback_ms)[None, :]) & ~stale_mask(v)
    return StepVector(list(batch.labels), v, present, t if want_ts else None).prune()


def drop_stale(batch: SeriesBatch) -> SeriesBatch:
    """The batch without staleness markers (range selectors never see them)."""
    stale = stale_mask(batch.values)
    if not stale.any():
        return batch
    keep = ~stale
    cs = np.concatenate(([0], np.cumsum(keep, dtype=np.int64)))
    return SeriesBatch(batch.labels, cs[batch.offsets], batch.timestamps[keep], batch.values[keep])


def range_vector(batch: SeriesBatch, window_ends: I64, range_ms: int) -> StepMatrix:
    """Windows ``[end - range, end]`` (closed, as in Prometheus 2.x) for every step."""
    b = drop_stale(batch)
    return windows(b.labels, b.offsets, b.timestamps, b.values, window_ends, range_ms)


def windows(
    labels: list, offsets: I64, ts: I64, vs: np.ndarray, window_ends: I64, range_ms: int  # type: ignore[type-arg]
) -> StepMatrix:
    starts = search_per_series(offsets, ts, window_ends - range_ms, "left")
    ends = search_per_series(offsets, ts, window_ends, "right")
    return StepMatrix(list(labels), offsets, ts, vs, starts, ends, window_ends, range_ms)
