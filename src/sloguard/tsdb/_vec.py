"""Vectorised helpers over "segmented" arrays: many series stored back to back.

A *segment* is ``src[lo:hi]`` of some source array, holding one series' samples in
time order. Queries describe their result as segments from several sources (head,
block frames) and copy them out once with ``concat_segments``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sloguard.tsdb._types import F64, I64

_SLICE_MIN_AVG = 16  # average segment length from which a slice-per-segment copy wins


@dataclass(frozen=True, slots=True)
class SegPart:
    """Samples of series ``keys[i]`` are ``t[lo[i]:hi[i]]`` / ``v[lo[i]:hi[i]]``."""

    keys: I64
    lo: I64
    hi: I64
    t: I64
    v: F64

    @classmethod
    def compact(cls, keys: I64, offsets: I64, t: I64, v: F64) -> SegPart:
        return cls(keys, offsets[:-1], offsets[1:], t, v)


def seg_search(t: I64, starts: I64, ends: I64, x: int, side: str = "left") -> I64:
    """``np.searchsorted(t[s:e], x, side) + s`` for every segment at once (binary search
    run in lock step over all segments)."""
    lo = np.array(starts, np.int64)
    hi = np.array(ends, np.int64)
    if len(lo) == 0 or len(t) == 0:
        return lo
    while True:
        active = lo < hi
        if not active.any():
            return lo
        mid = (lo + hi) >> 1
        tm = t[np.minimum(mid, len(t) - 1)]
        go_right = (tm < x) if side == "left" else (tm <= x)
        go_right &= active
        lo = np.where(go_right, mid + 1, lo)
        hi = np.where(active & ~go_right, mid, hi)


def cut(part: SegPart, mint: int, maxt: int) -> SegPart:
    """Narrow every segment to samples in ``[mint, maxt]``."""
    lo = seg_search(part.t, part.lo, part.hi, mint, "left")
    hi = seg_search(part.t, part.lo, part.hi, maxt, "right")
    return SegPart(part.keys, lo, hi, part.t, part.v)


_KEY_LIMIT = 1 << 62


@dataclass(frozen=True, slots=True)
class BandKey:
    """A search key over segments stored back to back, each in time order.

    Segment ``r``'s samples get keys in the band ``[r * span, (r + 1) * span)`` (the
    time relative to ``tmin``, shifted by one so that times outside ``[tmin, tmax]``
    clamp to the band's edges), so the key is sorted and one ``np.searchsorted`` finds
    a time in any number of segments at once. Built once per immutable source.
    """

    key: I64
    tmin: int
    span: int

    @classmethod
    def build(cls, seg_offsets: I64, t: I64) -> BandKey | None:
        """Over ``t`` split at ``seg_offsets`` (from 0 to ``len(t)``); None if the bands
        would overflow int64."""
        n = len(seg_offsets) - 1
        if n <= 0 or len(t) == 0:
            return None
        tmin = int(t.min())
        span = int(t.max()) - tmin + 3
        if n * span >= _KEY_LIMIT:
            return None
        key = np.repeat(np.arange(n, dtype=np.int64) * span, np.diff(seg_offsets))
        key += t
        key -= tmin - 1
        key.flags.writeable = False
        return cls(key, tmin, span)

    def search(self, ranks: I64, x: int, side: str) -> I64:
        """``np.searchsorted(segment r, x, side)`` as an absolute index, for each rank."""
        rel = min(max(x - self.tmin + 1, 0), self.span - 1)
        found: I64 = np.searchsorted(self.key, ranks * self.span + rel, side)  # type: ignore[call-overload]
        return found

    def cut(self, part: SegPart, ranks: I64, mint: int, maxt: int) -> SegPart:
        """``cut(part, mint, maxt)`` for a part whose segment ``i`` is segment
        ``ranks[i]`` of this key's source (``part.t``)."""
        lo = np.minimum(np.maximum(self.search(ranks, mint, "left"), part.lo), part.hi)
        hi = np.minimum(np.maximum(self.search(ranks, maxt, "right"), lo), part.hi)
        return SegPart(part.keys, lo, hi, part.t, part.v)


def ranges_index(lo: I64, hi: I64) -> tuple[I64, I64]:
    """Indices of the concatenated ranges ``[lo[i], hi[i])`` and their offsets."""
    lens = np.maximum(hi - lo, 0)
    offsets = np.zeros(len(lens) + 1, np.int64)
    np.cumsum(lens, out=offsets[1:])
    total = int(offsets[-1])
    if total == 0:
        return np.empty(0, np.int64), offsets
    idx = np.arange(total, dtype=np.int64)
    idx += np.repeat(lo - offsets[:-1], lens)
    return idx, offsets


def _readonly(a: np.ndarray) -> np.ndarray:
    view = a.view()
    view.flags.writeable = False
    return view


def concat_segments(parts: list[SegPart], src: I64, lo: I64, hi: I64) -> tuple[I64, F64]:
    """Copy segments (``src`` indexes ``parts``) out in the given order."""
    if len(lo) == 0:
        return np.empty(0, np.int64), np.empty(0, np.float64)
    if len(lo) == 1:  # one series from one source (the common small select)
        p = parts[int(src[0])]
        a, b = int(lo[0]), int(hi[0])
        return _readonly(p.t[a:b]), _readonly(p.v[a:b])
    brk = np.ones(len(lo), bool)  # coalesce runs that are contiguous in one source
    brk[1:] = (src[1:] != src[:-1]) | (lo[1:] != hi[:-1])
    first = np.flatnonzero(brk)
    last = np.append(first[1:], len(lo)) - 1
    src, lo, hi = src[first], lo[first], hi[last]
    if len(lo) == 1:
        p = parts[int(src[0])]
        a, b = int(lo[0]), int(hi[0])
        return _readonly(p.t[a:b]), _readonly(p.v[a:b])
    total = int((hi - lo).sum())
    if total >= _SLICE_MIN_AVG * len(lo):
        segs = list(zip(src.tolist(), lo.tolist(), hi.tolist(), strict=True))
        t = np.concatenate([parts[s].t[a:b] for s, a, b in segs])
        v = np.concatenate([parts[s].v[a:b] for s, a, b in segs])
        return t, v
    if bool((src == src[0]).all()):
        p = parts[int(src[0])]
        idx, _ = ranges_index(lo, hi)
        return p.t[idx], p.v[idx]
    # many short segments from several sources: gather each source's share straight
    # into its places in the output (never copying a whole source)
    lens = hi - lo
    starts = np.cumsum(lens) - lens
    t = np.empty(total, np.int64)
    v = np.empty(total, np.float64)
    for s in np.unique(src).tolist():
        sel = np.flatnonzero(src == s)
        idx, _ = ranges_index(lo[sel], hi[sel])
        dst, _ = ranges_index(starts[sel], starts[sel] + lens[sel])
        t[dst] = parts[s].t[idx]
        v[dst] = parts[s].v[idx]
    return t, v


def merge(nkeys: int, parts: list[SegPart], may_overlap: bool) -> tuple[I64, I64, F64]:
    """Per key, the samples of all parts (older part first): (offsets, t, v).

    With ``may_overlap``, keys whose parts interleave in time are re-sorted and an
    exact-timestamp duplicate keeps the older part's sample.
    """
    if len(parts) == 1:
        keys, lo, hi = parts[0].keys, parts[0].lo, parts[0].hi
        src = np.zeros(len(keys), np.int64)
    else:
        keys = np.concatenate([p.keys for p in parts]) if parts else np.empty(0, np.int64)
        src = np.concatenate([np.full(len(p.keys), i, np.int64) for i, p in enumerate(parts)]) if parts else keys
        lo = np.concatenate([p.lo for p in parts]) if parts else keys
        hi = np.concatenate([p.hi for p in parts]) if parts else keys
    nz = np.flatnonzero(hi > lo)
    if len(nz) < len(lo):
        keys, src, lo, hi = keys[nz], src[nz], lo[nz], hi[nz]
    if len(parts) > 1:
        order = np.lexsort((src, keys))
        keys, src, lo, hi = keys[order], src[order], lo[order], hi[order]
    offsets = np.zeros(nkeys + 1, np.int64)
    np.cumsum(np.bincount(keys, weights=hi - lo, minlength=nkeys).astype(np.int64), out=offsets[1:])
    t, v = concat_segments(parts, src, lo, hi)
    if may_overlap:
        return fix_overlaps(offsets, t, v)
    return offsets, t, v


def fix_overlaps(offsets: I64, t: I64, v: F64) -> tuple[I64, I64, F64]:
    """Sort each series by time and drop repeated timestamps (first one wins)."""
    if len(t) < 2:
        return offsets, t, v
    bad = np.diff(t) <= 0
    inner = offsets[1:-1]
    bad[inner[(inner > 0) & (inner < len(t))] - 1] = False
    if not bad.any():
        return offsets, t, v
    key = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    order = np.lexsort((t, key))  # stable: the older part wins a tie
    key, t, v = key[order], t[order], v[order]
    keep = np.ones(len(t), bool)
    keep[1:] = (key[1:] != key[:-1]) | (t[1:] != t[:-1])
    key, t, v = key[keep], t[keep], v[keep]
    new_off = np.zeros(len(offsets), np.int64)
    np.cumsum(np.bincount(key, minlength=len(offsets) - 1), out=new_off[1:])
    return new_off, t, v
