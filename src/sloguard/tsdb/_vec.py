"""Vectorised helpers over "segmented" arrays: many series stored back to back.

A segmented array is a flat array plus ``starts``/``ends`` index arrays; each segment
holds one series' samples in time order. Everything here is whole-array numpy work.
"""

from __future__ import annotations

import numpy as np

from sloguard.tsdb._types import F64, I64


def seg_search(t: I64, starts: I64, ends: I64, x: int, side: str = "left") -> I64:
    """``np.searchsorted(t[s:e], x, side) + s`` for every segment at once (binary search
    run in lock step over all segments)."""
    lo = starts.astype(np.int64, copy=True)
    hi = ends.astype(np.int64, copy=True)
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


def gather_ranges(
    t: I64, v: F64, starts: I64, ends: I64, mint: int, maxt: int
) -> tuple[I64, I64, F64]:
    """Cut every segment to ``[mint, maxt]``; return (offsets, timestamps, values)."""
    lo = seg_search(t, starts, ends, mint, "left")
    hi = seg_search(t, starts, ends, maxt, "right")
    if len(lo) and np.array_equal(lo[1:], hi[:-1]):  # contiguous: one slice
        a, b = int(lo[0]), int(hi[-1])
        offsets = np.concatenate(([0], np.cumsum(hi - lo))).astype(np.int64)
        return offsets, t[a:b].copy(), v[a:b].copy()
    idx, offsets = ranges_index(lo, hi)
    return offsets, t[idx], v[idx]


def merge_parts(
    nkeys: int, parts: list[tuple[I64, I64, I64, F64]]
) -> tuple[I64, I64, F64]:
    """Concatenate per-key sample runs from several parts, older part first.

    Each part is ``(keys, offsets, t, v)`` with ``keys`` unique indices into
    ``range(nkeys)``. Returns (offsets, t, v) over all keys. If parts overlap in time
    for a key, the result is re-sorted and exact-timestamp duplicates keep the first.
    """
    counts = np.zeros((len(parts), nkeys), np.int64)
    for p, (keys, offs, _, _) in enumerate(parts):
        counts[p, keys] = np.diff(offs)
    per_key = counts.sum(axis=0)
    offsets = np.zeros(nkeys + 1, np.int64)
    np.cumsum(per_key, out=offsets[1:])
    total = int(offsets[-1])
    out_t = np.empty(total, np.int64)
    out_v = np.empty(total, np.float64)
    before = np.zeros(nkeys, np.int64)
    for p, (keys, offs, t, v) in enumerate(parts):
        lens = np.diff(offs)
        start = offsets[:-1][keys] + before[keys]
        pos = np.arange(len(t), dtype=np.int64) + np.repeat(start - offs[:-1], lens)
        out_t[pos] = t
        out_v[pos] = v
        before += counts[p]
    if len(parts) > 1:
        return _fix_overlaps(offsets, out_t, out_v)
    return offsets, out_t, out_v


def _fix_overlaps(offsets: I64, t: I64, v: F64) -> tuple[I64, I64, F64]:
    if len(t) < 2:
        return offsets, t, v
    bad = np.diff(t) <= 0
    bad[offsets[1:-1][(offsets[1:-1] > 0) & (offsets[1:-1] < len(t))] - 1] = False
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
