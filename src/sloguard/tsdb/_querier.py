"""Reads across blocks and the head, merged into one label-sorted ``SeriesBatch``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from sloguard.labels import Labels, Matcher
from sloguard.tsdb._block import Block
from sloguard.tsdb._cache import FrameCache
from sloguard.tsdb._head import Head
from sloguard.tsdb._select_plan import SelectPlan, View, batch_of
from sloguard.tsdb._stream import BlockRead
from sloguard.tsdb._types import I64, SeriesBatch
from sloguard.tsdb._vec import merge

_FEW = 16  # series from which a head-only select takes the vectorised path


class BlockSource(Protocol):
    head: Head
    blocks: list[Block]
    cache: FrameCache


class TSDBQuerier:
    """Implements ``Querier`` over the TSDB's blocks plus its live head, as of its creation.

    A querier reads one snapshot (Prometheus' head isolation): the block list and the
    head's state are taken once, under the head lock, so samples committed later are
    invisible to every select, and a compaction that moves samples from the head into a
    new block (or merges blocks) does not change what it reads. Make one per query (or
    ``renewed()``). Safe to share between threads.
    """

    def __init__(self, db: BlockSource) -> None:
        self._db = db
        self._head = db.head
        self._cache_bytes = db.cache.max_bytes
        with self._head.lock:
            self._blocks = list(db.blocks)
            self._state = self._head.state()

    def renewed(self) -> TSDBQuerier:
        """A querier over the same TSDB as of now."""
        return TSDBQuerier(self._db)

    def _view(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> View:
        head, state = self._head, self._state
        nrefs = state.snap.nrefs
        with head.lock:
            refs = state.postings.resolve(matchers)
            if len(refs) and refs[-1] >= nrefs:  # refs ascend; later series are not ours
                refs = refs[: int(np.searchsorted(refs, nrefs))]
            if len(refs):
                refs = refs[(state.first_t[refs] <= maxt) & (state.last_t[refs] >= mint)]
            snap = head.view(state, refs)
        labels = state.labels
        return View(self._blocks, refs, [labels[r] for r in refs.tolist()], snap)

    def _head_overlaps(self, mint: int, maxt: int) -> bool:
        s = self._state
        return not s.empty and s.mint <= maxt and s.maxt >= mint

    def _block_ids(self, b: Block, matchers: Sequence[Matcher], mint: int, maxt: int) -> I64:
        ids = b.resolve(matchers)
        return b.series_in_range(ids, mint, maxt) if len(ids) else ids

    def select(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> SeriesBatch:
        plan = self._plan(matchers, mint, maxt)
        return plan if isinstance(plan, SeriesBatch) else plan.read(0, len(plan.labels))

    def select_partitioned(
        self, matchers: Sequence[Matcher], mint: int, maxt: int, max_samples: int
    ) -> Iterator[SeriesBatch]:
        """``select`` in consecutive pieces of whole series (label order kept), each of
        about ``max_samples`` samples at most (one series may exceed it): a caller that
        works series by series holds one piece at a time, and every frame is decoded
        about once. Concatenated, the pieces are ``select``'s batch."""
        plan = self._plan(matchers, mint, maxt)
        if isinstance(plan, SeriesBatch):
            yield plan
            return
        for a, b in plan.pieces(max_samples):
            yield plan.read(a, b)

    def _plan(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> SelectPlan | SeriesBatch:
        """What a select reads (a batch straight away when only the head holds it)."""
        view = self._view(matchers, mint, maxt)
        found: list[tuple[Block, I64, list[Labels]]] = []
        for b in view.blocks:
            if b.overlaps(mint, maxt):
                ids = self._block_ids(b, matchers, mint, maxt)
                if len(ids):
                    found.append((b, ids, [b.labels[i] for i in ids.tolist()]))
        if not found:
            return _head_only(view, mint, maxt)
        if not len(view.refs) and all(ls == found[0][2] for _, _, ls in found[1:]):
            # the usual case: every block holds the same series (block ids are in label order)
            all_labels = found[0][2]
            keys = np.arange(len(all_labels), dtype=np.int64)
            reads = [BlockRead(b, ids, keys) for b, ids, _ in found]
            head_keys = np.empty(0, np.int64)
        else:
            all_labels = sorted({ls for _, _, block_labels in found for ls in block_labels}.union(view.labels))
            pos = {ls: i for i, ls in enumerate(all_labels)}
            reads = [BlockRead(b, ids, np.fromiter((pos[ls] for ls in block_labels), np.int64, len(ids)))
                     for b, ids, block_labels in found]
            head_keys = np.fromiter((pos[ls] for ls in view.labels), np.int64, len(view.refs))
        overlap = _may_overlap([b for b, _, _ in found], self._state.mint if len(view.refs) else None)
        return SelectPlan.build(all_labels, reads, view, head_keys, overlap, mint, maxt, self._cache_bytes)

    def estimate_series(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> int:
        """About ``len(series(...))`` from the indexes alone (no label sets built, no
        samples read): the most series any one of the head and the blocks holds, which is
        the count while the series persist (the query engine sizes its work by it)."""
        head = self._head
        with head.lock:
            refs = head.postings.resolve(matchers)
            n = int(np.count_nonzero((head.first_t[refs] <= maxt) & (head.last_t[refs] >= mint))) if len(refs) else 0
            blocks = list(self._db.blocks)
        for b in blocks:
            if b.overlaps(mint, maxt):
                n = max(n, len(self._block_ids(b, matchers, mint, maxt)))
        return n

    def samples_bound(self, mint: int, maxt: int) -> int:
        """At least the samples any select over the window can return (every sample of
        the head and of the blocks overlapping it): a bound the caller checks first, as
        it costs a sum over the blocks, not an index lookup."""
        n = len(self._state.snap.f_t) + len(self._state.snap.tail_t)
        return n + sum(b.num_samples for b in self._blocks if b.overlaps(mint, maxt))

    def estimate_samples(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> int:
        """About the samples ``select`` would return, from metadata alone (no frame is
        decoded): each matched series' sample count in the head and in every block,
        exact when the series' time range lies inside the window, otherwise scaled by
        the share of that range inside it (samples spread evenly); the head's unfolded
        tail counts in proportion to the share of its series that match. Series in more
        than one source are counted in each (select merges duplicates away)."""
        n = self._head_samples(matchers, mint, maxt)
        for b in self._blocks:
            if b.overlaps(mint, maxt):
                ids = self._block_ids(b, matchers, mint, maxt)
                if len(ids):
                    counts = np.asarray(b.offsets[ids + 1]) - np.asarray(b.offsets[ids])
                    tm = np.asarray(b.tminmax[ids])
                    n += _inside(counts, tm[:, 0], tm[:, 1], mint, maxt)
        return int(np.ceil(n))

    def _head_samples(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> float:
        """Frozen samples per series over ``[first_t, its last frozen time]``; the tail
        (newer, in-order appends) shared evenly between the series, each over the rest
        of its time range."""
        state = self._state
        snap = state.snap
        with self._head.lock:
            refs = state.postings.resolve(matchers)
        refs = refs[refs < snap.nrefs] if len(refs) else refs
        if not len(refs):
            return 0.0
        refs = refs[(state.first_t[refs] <= maxt) & (state.last_t[refs] >= mint)]
        first, last = state.first_t[refs], state.last_t[refs]
        nf = len(snap.f_off) - 1
        lo = snap.f_off[np.minimum(refs, nf)]
        counts = np.where(refs < nf, snap.f_off[np.minimum(refs + 1, nf)] - lo, 0)
        frozen_last = first - 1
        if len(snap.f_t):
            frozen_last = np.where(counts > 0, snap.f_t[np.maximum(lo + counts - 1, 0)], frozen_last)
        n = _inside(counts, first, frozen_last, mint, maxt)
        if len(snap.tail_t):
            per_series = np.full(len(refs), len(snap.tail_t) / max(1, snap.nrefs))
            n += _inside(per_series, np.maximum(frozen_last + 1, first), last, mint, maxt)
        return n

    def series(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> list[Labels]:
        view = self._view(matchers, mint, maxt)
        out: set[Labels] = set(view.labels)
        for b in view.blocks:
            if b.overlaps(mint, maxt):
                out.update(b.labels[i] for i in self._block_ids(b, matchers, mint, maxt).tolist())
        return sorted(out)

    def label_names(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> list[str]:
        if matchers:
            return sorted({n for ls in self.series(matchers, mint, maxt) for n, _ in ls})
        names: set[str] = set()
        if self._head_overlaps(mint, maxt):
            with self._head.lock:
                names.update(self._state.postings.label_names())
        for b in self._blocks:
            if b.overlaps(mint, maxt):
                names.update(b.index.label_names())
        return sorted(names)

    def label_values(self, name: str, matchers: Sequence[Matcher], mint: int, maxt: int) -> list[str]:
        if matchers:
            return sorted({ls.get(name) for ls in self.series(matchers, mint, maxt)} - {""})
        values: set[str] = set()
        if self._head_overlaps(mint, maxt):
            with self._head.lock:
                values.update(self._state.postings.label_values_of(name))
        for b in self._blocks:
            if b.overlaps(mint, maxt):
                values.update(b.index.label_values_of(name))
        return sorted(values)


def _inside(counts: npt.NDArray[np.generic], first: I64, last: I64, mint: int, maxt: int) -> float:
    """``counts`` of series spanning ``[first, last]``, each scaled by the share of its
    span inside ``[mint, maxt]`` (exact for a series wholly inside)."""
    if not len(counts):
        return 0.0
    span = (last - first + 1).astype(np.float64)
    inside = np.minimum(last, maxt) - np.maximum(first, mint) + 1
    share = np.where(span > 0, np.clip(inside / np.maximum(span, 1.0), 0.0, 1.0), 0.0)
    return float(np.dot(counts.astype(np.float64), share))


def _head_only(view: View, mint: int, maxt: int) -> SeriesBatch:
    """A select no block contributes to, gathered straight into label order."""
    order = sorted(range(len(view.refs)), key=view.labels.__getitem__)
    labels = [view.labels[i] for i in order]
    if len(order) <= _FEW:
        refs = view.refs.tolist()
        few = Head.select_few(view.snap, [refs[i] for i in order], mint, maxt)
        if few is not None:
            return batch_of(labels, few)
    parts = Head.select_parts(view.snap, view.refs[np.asarray(order, np.int64)], mint, maxt)
    return batch_of(labels, merge(len(order), parts, False))


def _may_overlap(blocks: list[Block], head_mint: int | None) -> bool:
    """Whether sources' time ranges overlap (only backfilled data does that)."""
    edge = None
    for b in blocks:  # sorted by (mint, maxt)
        if edge is not None and b.mint < edge:
            return True
        edge = b.maxt if edge is None else max(edge, b.maxt)
    return head_mint is not None and edge is not None and head_mint < edge
