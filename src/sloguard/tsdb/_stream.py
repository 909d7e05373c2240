"""Large selects copied straight into their result, one decoded frame at a time.

``merge`` needs every part of a select at once, so a select over many series holds
all the frames it decoded (as large as its result, or larger) while it copies them
out. When the sources do not overlap in time, a key's samples are its sources' in
order, so the result's layout follows from each source's per-key counts: a block the
select's range covers entirely counts from its offsets alone, and its frames are then
decoded, copied into place and let go one by one. Only blocks cut by the range (at
most its two ends) and the head are read before the result is allocated. When those
frames could not all stay in the decoded-frame cache anyway, they are not put there:
a scan that would only evict the frames other queries reuse keeps none of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sloguard.tsdb._block import FRAME_SAMPLES, Block
from sloguard.tsdb._types import F64, I64
from sloguard.tsdb._vec import SegPart, ranges_index

STREAM_MIN_SAMPLES = 1 << 20  # below this a select merges its parts as usual
_SLICE_MIN_AVG = 16  # average segment length from which a slice-per-segment copy wins
_FRAME_BYTES = FRAME_SAMPLES * 24  # a full frame decoded: times, values and search key


@dataclass(frozen=True, slots=True)
class BlockRead:
    """Series ``ids`` of ``block`` are keys ``keys`` of the result (ids ascending)."""

    block: Block
    ids: I64
    keys: I64

    def covered_by(self, mint: int, maxt: int) -> bool:
        return mint <= self.block.mint and self.block.maxt - 1 <= maxt

    def frame_ids(self) -> I64:
        """The frame of each series (ascending, as the ids are)."""
        fstarts = np.asarray(self.block.frames[:, 0])
        fid: I64 = np.searchsorted(fstarts, np.asarray(self.block.offsets[self.ids]), side="right") - 1
        return fid

    def sizes(self) -> I64:
        offs = self.block.offsets
        sizes: I64 = np.asarray(offs[self.ids + 1]) - np.asarray(offs[self.ids])
        return sizes


def worth_streaming(reads: list[BlockRead], mint: int, maxt: int) -> bool:
    """Whether the covered blocks alone hold enough samples to stream them."""
    full = sum(int(r.sizes().sum()) for r in reads if r.covered_by(mint, maxt))
    return full >= STREAM_MIN_SAMPLES


def stream_merge(
    nkeys: int, reads: list[BlockRead], head: list[SegPart], mint: int, maxt: int, cache_bytes: int
) -> tuple[I64, I64, F64]:
    """``merge`` of the blocks' selects (in time order, not overlapping) then ``head``;
    ``cache_bytes`` is the decoded-frame cache's size."""
    sources: list[BlockRead | list[SegPart]] = [
        r if r.covered_by(mint, maxt) else r.block.select_parts(r.ids, r.keys, mint, maxt) for r in reads
    ]
    sources.append(head)
    counts = np.zeros(nkeys, np.int64)
    for s in sources:
        if isinstance(s, BlockRead):
            counts[s.keys] += s.sizes()
        else:
            for p in s:
                counts[p.keys] += np.maximum(p.hi - p.lo, 0)
    offsets = np.zeros(nkeys + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    t = np.empty(int(offsets[-1]), np.int64)
    v = np.empty(len(t), np.float64)
    pos = offsets[:-1].copy()
    full = [s for s in sources if isinstance(s, BlockRead)]
    keep = sum(len(np.unique(r.frame_ids())) for r in full) * _FRAME_BYTES <= cache_bytes
    for i, s in enumerate(sources):
        sources[i] = []  # let the source's frames go once copied
        if isinstance(s, BlockRead):
            _copy_block(s, t, v, pos, keep)
        else:
            for p in s:
                _copy(p, t, v, pos)
    return offsets, t, v


def _copy_block(r: BlockRead, t: I64, v: F64, pos: I64, keep: bool) -> None:
    """Copy every sample of ``r``'s series, decoding (or finding) one frame at a time."""
    b = r.block
    fstarts = np.asarray(b.frames[:, 0])
    s_start = np.asarray(b.offsets[r.ids])
    s_end = np.asarray(b.offsets[r.ids + 1])
    fid = r.frame_ids()
    cuts = np.flatnonzero(np.diff(fid, prepend=-1)).tolist() + [len(fid)]  # ids ascend: runs
    for a, z in zip(cuts[:-1], cuts[1:], strict=True):
        f = int(fid[a])
        fr = b.frame(f, keep)
        base = int(fstarts[f])
        part = SegPart(r.keys[a:z], s_start[a:z] - base, s_end[a:z] - base, fr.t, fr.v)
        _copy(part, t, v, pos)


def _copy(p: SegPart, t: I64, v: F64, pos: I64) -> None:
    """Append each segment of ``p`` at its key's write position (keys unique in ``p``)."""
    lens = np.maximum(p.hi - p.lo, 0)
    nz = np.flatnonzero(lens)
    if not len(nz):
        return
    keys, lo, hi, lens = p.keys[nz], p.lo[nz], p.hi[nz], lens[nz]
    dst = pos[keys]
    if int(lens.sum()) >= _SLICE_MIN_AVG * len(nz):
        for d, a, z in zip(dst.tolist(), lo.tolist(), hi.tolist(), strict=True):
            t[d:d + z - a] = p.t[a:z]
            v[d:d + z - a] = p.v[a:z]
    else:
        src, _ = ranges_index(lo, hi)
        out, _ = ranges_index(dst, dst + lens)
        t[out] = p.t[src]
        v[out] = p.v[src]
    pos[keys] += lens
