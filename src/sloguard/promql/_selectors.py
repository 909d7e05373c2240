"""Vector and matrix selectors over a ``SeriesBatch``, for all steps at once.

Both selectors reduce to one question: for every series and every reference time, where
does that time fall in the series' sorted timestamps? ``search_per_series`` answers it
with a single ``np.searchsorted`` over all series by giving each series its own band
of a combined int64 key (falling back to one search per series when the bands would
overflow int64).
"""

from __future__ import annotations

import numpy as np

from sloguard.promql._limits import check_active
from sloguard.promql._steps import I64, StepMatrix, StepVector
from sloguard.tsdb import SeriesBatch, stale_mask

_KEY_LIMIT = 1 << 62


class SeriesIndex:
    """Searches all series of a flat (offsets, timestamps) layout at once.

    Series ``i`` gets the key band ``[i * span, (i + 1) * span)``, so one sorted int64
    array covers every series and one ``np.searchsorted`` answers every (series, time)
    query. Built once per selector and reused for window starts and ends.
    """

    def __init__(self, offsets: I64, ts: I64, lo: int, hi: int) -> None:
        self.offsets = offsets
        self.ts = ts
        self.n = len(offsets) - 1
        self.lo = min(lo, int(ts.min())) if len(ts) else lo
        hi = max(hi, int(ts.max())) if len(ts) else hi
        self.span = hi - self.lo + 1
        self.key: I64 | None = None
        if self.n and len(ts) and self.n * self.span < _KEY_LIMIT:
            counts = np.diff(offsets)
            key = np.repeat(np.arange(self.n, dtype=np.int64) * self.span - self.lo, counts)
            key += ts
            self.key = key

    def search(self, refs: I64, side: str) -> I64:
        """Absolute indices ``np.searchsorted(ts[series i], refs, side) + offsets[i]``, shape (n, k)."""
        n, k = self.n, len(refs)
        if n == 0 or k == 0:
            return np.zeros((n, k), np.int64)
        if len(self.ts) == 0:
            return np.broadcast_to(self.offsets[:-1, None], (n, k)).copy()
        if self.key is not None and int(refs.min()) >= self.lo and int(refs.max()) < self.lo + self.span:
            qk = (refs - self.lo)[None, :] + (np.arange(n, dtype=np.int64) * self.span)[:, None]
            found: I64 = np.searchsorted(self.key, qk.ravel(), side=side)  # type: ignore[call-overload]
            return found.reshape(n, k)
        out = np.empty((n, k), np.int64)
        for i in range(n):
            if i % 1024 == 1023:
                check_active()  # a cancelled or timed-out query stops here too
            a, b = int(self.offsets[i]), int(self.offsets[i + 1])
            out[i] = np.searchsorted(self.ts[a:b], refs, side=side) + a  # type: ignore[call-overload]
        return out


    def windows(self, lo: I64, hi: I64) -> tuple[I64, I64]:
        """``search(lo, "left")`` and ``search(hi, "right")`` together. When the window
        starts fall on other steps' ends (a range that is a multiple of the step), one
        search over the union of both time sets serves both."""
        if len(hi) == 1:
            return self.search(lo, "left"), self.search(hi, "right")
        union = np.union1d(lo, hi)
        if len(union) * 2 > 3 * len(hi) or self.n == 0 or len(self.ts) == 0:
            return self.search(lo, "left"), self.search(hi, "right")
        left = self.search(union, "left")
        inside = left < self.offsets[1:, None]
        hit = self.ts[np.minimum(left, len(self.ts) - 1)] == union[None, :]
        hit &= inside
        right = left + hit
        return left[:, np.searchsorted(union, lo)], right[:, np.searchsorted(union, hi)]


def _within(ts: I64, lo: int, hi: int) -> bool:
    """Whether every timestamp lies in ``[lo, hi]`` (a batch selected for one window)."""
    return len(ts) > 0 and int(ts.min()) >= lo and int(ts.max()) <= hi


def search_per_series(offsets: I64, ts: I64, refs: I64, side: str) -> I64:
    """One-off search (see ``SeriesIndex``)."""
    if len(refs) == 0:
        return np.zeros((len(offsets) - 1, 0), np.int64)
    return SeriesIndex(offsets, ts, int(refs.min()), int(refs.max())).search(refs, side)


def instant_vector(batch: SeriesBatch, refs: I64, lookback_ms: int, want_ts: bool) -> StepVector:
    """The latest sample at or before each reference time, within the lookback window.

    As in Prometheus 2.x the window ``[ref - lookback, ref]`` is closed at both ends, and
    a staleness marker as the latest sample means no sample.
    """
    n, k = len(batch.labels), len(refs)
    if n == 0:
        return StepVector.empty(k)
    if k == 1 and _within(batch.timestamps, int(refs[0]) - lookback_ms, int(refs[0])):
        # the batch was selected for this one window: each series' last sample is it
        offs = batch.offsets
        idx = np.maximum(offs[1:] - 1, 0)
        v = batch.values[idx]
        present = (offs[1:] > offs[:-1]) & ~stale_mask(v)
        t = batch.timestamps[idx][:, None] if want_ts else None
        return StepVector(list(batch.labels), v[:, None], present[:, None], t).prune()
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
    if len(window_ends) == 0:
        starts = ends = np.zeros((len(labels), 0), np.int64)
    elif len(window_ends) == 1 and _within(ts, int(window_ends[0]) - range_ms, int(window_ends[0])):
        starts, ends = offsets[:-1, None], offsets[1:, None]  # one window holding everything
    else:
        index = SeriesIndex(offsets, ts, int(window_ends.min()) - range_ms, int(window_ends.max()))
        starts, ends = index.windows(window_ends - range_ms, window_ends)
    return StepMatrix(list(labels), offsets, ts, vs, starts, ends, window_ends, range_ms)
