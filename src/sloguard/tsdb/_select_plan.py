"""What one select reads, and reading it whole or in pieces of whole series.

A ``SelectPlan`` is the result of the index work of a select (the matching series of
every block and of the head, their label order); ``read(a, b)`` gathers the samples of
keys ``a..b`` only. ``select`` reads all keys at once; a caller that works series by
series (a PromQL function over a range selector) reads consecutive pieces, so it holds
one piece's samples at a time and decodes each frame about once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from sloguard.labels import Labels
from sloguard.tsdb._block import Block
from sloguard.tsdb._head import Head, HeadSnapshot
from sloguard.tsdb._stream import BlockRead, stream_merge, worth_streaming
from sloguard.tsdb._types import F64, I64, SeriesBatch
from sloguard.tsdb._vec import SegPart, merge


@dataclass(frozen=True, slots=True)
class View:
    """What one call reads: the block list and the head's matching series + snapshot."""

    blocks: list[Block]
    refs: I64
    labels: list[Labels]
    snap: HeadSnapshot


@dataclass(frozen=True, slots=True)
class SelectPlan:
    """Series ``labels`` (sorted) of a select over ``[mint, maxt]``: block ``reads``
    and ``head`` parts keyed by position in ``labels``; ``overlap`` when the sources'
    time ranges overlap."""

    labels: list[Labels]
    reads: list[BlockRead]
    head: list[SegPart]
    overlap: bool
    mint: int
    maxt: int
    cache_bytes: int

    @classmethod
    def build(
        cls, labels: list[Labels], reads: list[BlockRead], view: View, head_keys: I64, overlap: bool,
        mint: int, maxt: int, cache_bytes: int,
    ) -> SelectPlan:
        """The head's samples are cut once, for all its series (its snapshot's search
        hints are per series of the view), keyed by position in ``labels``."""
        head: list[SegPart] = []
        if len(view.refs):
            head = [_by_key(SegPart(head_keys[p.keys], p.lo, p.hi, p.t, p.v))
                    for p in Head.select_parts(view.snap, view.refs, mint, maxt)]
        return cls(labels, reads, head, overlap, mint, maxt, cache_bytes)

    def read(self, a: int, b: int) -> SeriesBatch:
        """The samples of keys ``a..b`` (all keys: exactly ``select``'s batch)."""
        whole = a == 0 and b == len(self.labels)
        reads = self.reads if whole else [r for r in (_slice(r, a, b) for r in self.reads) if len(r.ids)]
        head_parts = self.head if whole else [_keys_in(p, a, b) for p in self.head]
        n, mint, maxt = b - a, self.mint, self.maxt
        if not self.overlap and worth_streaming(reads, mint, maxt):
            return batch_of(self.labels[a:b], stream_merge(n, reads, head_parts, mint, maxt, self.cache_bytes))
        parts = [p for r in reads for p in r.block.select_parts(r.ids, r.keys, mint, maxt)]
        return batch_of(self.labels[a:b], merge(n, parts + head_parts, self.overlap))

    def pieces(self, max_samples: int) -> Iterator[tuple[int, int]]:
        """Consecutive key ranges of about ``max_samples`` samples each (by the blocks'
        per-series counts, the head's series counted as one sample: it is small)."""
        n = len(self.labels)
        sizes = np.ones(n, np.int64)
        for r in self.reads:
            np.add.at(sizes, r.keys, r.sizes())
        ends = np.cumsum(sizes)
        a = 0
        while a < n:
            base = int(ends[a - 1]) if a else 0
            b = int(np.searchsorted(ends, base + max(1, max_samples), side="right"))
            b = min(n, max(b, a + 1))
            yield a, b
            a = b


def _slice(r: BlockRead, a: int, b: int) -> BlockRead:
    """The part of ``r`` whose keys are in ``a..b``, keys shifted to start at 0."""
    lo, hi = np.searchsorted(r.keys, [a, b])  # keys ascend with the ids
    return BlockRead(r.block, r.ids[lo:hi], r.keys[lo:hi] - a)


def _by_key(p: SegPart) -> SegPart:
    """``p`` with its segments in key order (the head's come in series-ref order; a
    piece read from the head alone is one part, which ``merge`` takes as it is)."""
    order = np.argsort(p.keys, kind="stable")
    return SegPart(p.keys[order], p.lo[order], p.hi[order], p.t, p.v)


def _keys_in(p: SegPart, a: int, b: int) -> SegPart:
    inside = (p.keys >= a) & (p.keys < b)
    return SegPart(p.keys[inside] - a, p.lo[inside], p.hi[inside], p.t, p.v)


def batch_of(labels: list[Labels], merged: tuple[I64, I64, F64]) -> SeriesBatch:
    """A batch without the series that have no samples."""
    offs, t, v = merged
    counts = offs[1:] - offs[:-1]
    if (counts > 0).all():
        return SeriesBatch(labels, offs, t, v)
    nz = np.flatnonzero(counts > 0)
    new_offs = np.zeros(len(nz) + 1, np.int64)
    np.cumsum(counts[nz], out=new_offs[1:])
    return SeriesBatch([labels[i] for i in nz.tolist()], new_offs, t, v)
