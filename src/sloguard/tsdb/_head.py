"""The in-memory head: series registry, index and the most recent samples.

Samples land in an append-only *tail* (ref, t, v) in commit order; now and then the
tail is folded into the *frozen* part, where each series' samples are contiguous
(``f_off[ref]:f_off[ref+1]``) and in time order. Both steps are whole-array numpy work,
so a commit costs a few array appends however many series it touches. Callers hold
``lock`` around every mutation; readers take a ``snapshot`` under it and work outside.

A query reads one ``HeadState`` taken when it starts (Prometheus' head isolation): the
series that existed then and the tail up to its length then. Nothing the state holds is
written after it is taken: the tail only grows past its length, a fold or a truncation
swaps in new arrays, and the index only gains refs at or above its series count.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from sloguard.labels import Labels
from sloguard.tsdb._index import MemPostings
from sloguard.tsdb._types import F64, I64
from sloguard.tsdb._vec import BandKey, SegPart, cut, merge, ranges_index, seg_search

U64 = npt.NDArray[np.uint64]
T_MIN = np.iinfo(np.int64).min
T_MAX = np.iinfo(np.int64).max
_FEW_REFS = 4
_MIN_FOLD = 1 << 12  # a small tail keeps full-tail scans (folds, long chains) cheap
_MAX_CHAIN = 16  # chain steps a select walks before it scans the whole tail instead


@dataclass(frozen=True, slots=True)
class HeadData:
    """Samples of some series in time order: labels[i] owns t/v[offsets[i]:offsets[i+1]]."""

    labels: list[Labels]
    offsets: I64
    t: I64
    v: F64


@dataclass(frozen=True, slots=True)
class HeadSnapshot:
    nrefs: int
    f_off: I64
    f_t: I64
    f_v: F64
    tail_ref: I64
    tail_t: I64
    tail_v: F64
    f_band: BandKey | None = None
    hits: I64 | None = None  # tail positions of the refs asked for, ascending (None: scan)


@dataclass(frozen=True, slots=True)
class HeadState:
    """The head as one query sees it: ``snap`` (series below ``snap.nrefs``, tail up to
    its length) with the index, labels and time bounds of that moment. ``first_t`` and
    ``last_t`` may have moved outwards since (they only widen), which only lets a series
    through that then selects no samples. ``gen`` tells whether the head's tail chains
    still describe ``snap``'s tail."""

    gen: int
    snap: HeadSnapshot
    postings: MemPostings
    labels: list[Labels]
    first_t: I64
    last_t: I64
    mint: int
    maxt: int

    @property
    def empty(self) -> bool:
        return len(self.snap.f_t) + len(self.snap.tail_t) == 0


_G = TypeVar("_G", bound=np.generic)


def _grow(a: npt.NDArray[_G], need: int, fill: object = 0) -> npt.NDArray[_G]:
    if need <= len(a):
        return a
    out = np.full(max(need, 2 * len(a), 1024), fill, a.dtype)
    out[: len(a)] = a
    return out


class Head:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.min_valid_time = T_MIN
        self.gen = 0  # bumped whenever the tail buffers or the refs are replaced
        self._reset()

    def _reset(self) -> None:
        self.gen += 1
        self.refs: dict[Labels, int] = {}
        self.labels: list[Labels] = []
        self.postings = MemPostings()
        self.metric_counts: dict[str, int] = {}
        self.last_t = np.full(0, T_MIN, np.int64)
        self.last_v = np.zeros(0, np.uint64)
        self.first_t = np.full(0, T_MAX, np.int64)
        self.f_off = np.zeros(1, np.int64)
        self.f_t = np.empty(0, np.int64)
        self.f_v = np.empty(0, np.float64)
        self.f_band: BandKey | None = None
        self._tr = np.empty(0, np.int64)
        self._tt = np.empty(0, np.int64)
        self._tv = np.empty(0, np.float64)
        self.n_tail = 0
        # Per-series chains through the tail, so a select finds its series' tail samples
        # without scanning the whole tail: _tlast[ref] is the ref's newest tail position
        # (-1: none), _tprev[i] the same series' previous one.
        self._tlast = np.full(0, -1, np.int64)
        self._tprev = np.empty(0, np.int64)
        self.mint = T_MAX
        self.maxt = T_MIN

    # -- series -----------------------------------------------------------------
    @property
    def num_series(self) -> int:
        return len(self.labels)

    @property
    def num_samples(self) -> int:
        return len(self.f_t) + self.n_tail

    def create_series(self, labels: Labels, ref: int | None = None) -> int:
        """Register a series (``ref`` given only on replay); return its ref."""
        if ref is None:
            ref = len(self.labels)
        while len(self.labels) <= ref:
            self.labels.append(Labels())
        self.labels[ref] = labels
        self.refs[labels] = ref
        self.postings.add(ref, labels)
        name = labels.metric_name
        self.metric_counts[name] = self.metric_counts.get(name, 0) + 1
        n = len(self.labels)
        self.last_t = _grow(self.last_t, n, T_MIN)
        self.last_v = _grow(self.last_v, n)
        self.first_t = _grow(self.first_t, n, T_MAX)
        self._tlast = _grow(self._tlast, n, -1)
        return ref

    # -- samples ----------------------------------------------------------------
    def append(self, refs: I64, t: I64, v: F64, group_last: I64) -> None:
        """Add samples already checked for order; ``group_last`` indexes each ref's last."""
        n, end = len(t), self.n_tail + len(t)
        if n == 0:
            return
        self._tr = _grow(self._tr, end)
        self._tt = _grow(self._tt, end)
        self._tv = _grow(self._tv, end)
        self._tprev = _grow(self._tprev, end)
        base = self.n_tail
        self._tr[base:end] = refs
        self._tt[base:end] = t
        self._tv[base:end] = v
        self.n_tail = end
        lr = refs[group_last]
        self.last_t[lr] = t[group_last]
        self.last_v[lr] = v[group_last].view(np.uint64)
        firsts = np.concatenate(([0], group_last[:-1] + 1))
        fr = refs[firsts]
        prev = np.arange(base - 1, end - 1, dtype=np.int64)
        prev[firsts] = self._tlast[fr]
        self._tprev[base:end] = prev
        self._tlast[lr] = group_last + base
        self.first_t[fr] = np.minimum(self.first_t[fr], t[firsts])
        self.mint = min(self.mint, int(t.min()))
        self.maxt = max(self.maxt, int(t.max()))
        if self.n_tail > max(_MIN_FOLD, len(self.f_t) // 4):
            self.fold()

    def fold(self) -> None:
        """Move the tail into the frozen, per-series contiguous arrays."""
        if self.n_tail == 0 and len(self.f_off) == len(self.labels) + 1:
            return
        snap = self.snapshot()
        front = np.arange(len(snap.f_off) - 1, dtype=np.int64)
        frozen = SegPart(front, snap.f_off[:-1], snap.f_off[1:], snap.f_t, snap.f_v)
        tail = self._tail_part(snap, np.arange(snap.nrefs, dtype=np.int64), T_MIN, T_MAX)
        self._set_frozen(*merge(snap.nrefs, [frozen, tail], False))
        # fresh tail buffers: snapshots taken before this fold still view the old ones
        self._tr, self._tt, self._tv = np.empty_like(self._tr), np.empty_like(self._tt), np.empty_like(self._tv)
        self._tprev = np.empty_like(self._tprev)
        self._tlast = np.full(len(self._tlast), -1, np.int64)
        self.n_tail = 0
        self.gen += 1

    def _set_frozen(self, offs: I64, t: I64, v: F64) -> None:
        self.f_off, self.f_t, self.f_v = offs, t, v
        self.f_band = BandKey.build(offs, t)

    def snapshot(self) -> HeadSnapshot:
        """The head's samples as of now (call under ``lock``)."""
        n = self.n_tail
        return HeadSnapshot(
            len(self.labels), self.f_off, self.f_t, self.f_v,
            self._tr[:n], self._tt[:n], self._tv[:n], self.f_band,
        )

    def state(self) -> HeadState:
        """What a query starting now may see (call under ``lock``)."""
        return HeadState(self.gen, self.snapshot(), self.postings, self.labels,
                         self.first_t, self.last_t, self.mint, self.maxt)

    def view(self, state: HeadState, refs: I64) -> HeadSnapshot:
        """``state``'s snapshot carrying where ``refs``' tail samples are, found by
        walking their chains when the head's chains still cover it (call under ``lock``)."""
        snap = state.snap
        if not len(snap.tail_t) or state.gen != self.gen:
            return snap
        return replace(snap, hits=self._chain_hits(refs, len(snap.tail_t)))

    def _chain_hits(self, refs: I64, n: int) -> I64 | None:
        """Tail positions below ``n`` of ``refs``' samples, ascending; None when some chain
        is longer than ``_MAX_CHAIN`` (a scan of the tail is cheaper then). Positions at or
        above ``n`` were appended after the state was taken: walked through, not kept."""
        cur = self._tlast[refs]
        cur = cur[cur >= 0]
        found: list[I64] = []
        for _ in range(_MAX_CHAIN):
            if len(cur) == 0:
                return np.sort(np.concatenate(found)) if found else cur
            found.append(cur if self.n_tail == n else cur[cur < n])
            cur = self._tprev[cur]
            cur = cur[cur >= 0]
        return None

    @staticmethod
    def _tail_part(snap: HeadSnapshot, refs: I64, mint: int, maxt: int) -> SegPart:
        """Tail samples in [mint, maxt] of ``refs``, keyed by position in ``refs``."""
        if snap.hits is not None:  # found by the snapshot for these refs (in any order)
            idx = snap.hits
            order = np.argsort(refs)
            k = order[np.searchsorted(refs[order], snap.tail_ref[idx])]
        else:
            idx, k = _tail_hits(snap.tail_ref, refs, snap.nrefs)
        tt = snap.tail_t[idx]
        inside = np.flatnonzero((tt >= mint) & (tt <= maxt))
        idx, k = idx[inside], k[inside]
        order = np.argsort(k, kind="stable")
        idx, k = idx[order], k[order]
        starts = np.flatnonzero(np.diff(k, prepend=-1))  # k is sorted: runs of one ref
        offs = np.append(starts, len(k))
        return SegPart.compact(k[starts], offs, snap.tail_t[idx], snap.tail_v[idx])

    @staticmethod
    def select_parts(snap: HeadSnapshot, refs: I64, mint: int, maxt: int) -> list[SegPart]:
        """Samples of ``refs`` in [mint, maxt], keyed by position in ``refs``."""
        nf = len(snap.f_off) - 1
        inside = refs < nf
        r = np.minimum(refs, nf - 1) if nf else np.zeros(len(refs), np.int64)
        starts = np.where(inside, snap.f_off[r], 0) if nf else r
        ends = np.where(inside, snap.f_off[r + 1], 0) if nf else r
        keys = np.arange(len(refs), dtype=np.int64)
        frozen = SegPart(keys, starts, ends, snap.f_t, snap.f_v)
        parts = [cut(frozen, mint, maxt) if snap.f_band is None else snap.f_band.cut(frozen, refs, mint, maxt)]
        if len(snap.tail_t) and len(refs):
            tail = Head._tail_part(snap, refs, mint, maxt)
            if len(tail.keys):
                parts.append(tail)
        return parts

    @staticmethod
    def select_few(snap: HeadSnapshot, refs: list[int], mint: int, maxt: int) -> tuple[I64, I64, F64] | None:
        """``merge(select_parts(...))`` for a handful of series, one slice each, without
        the vectorised machinery's fixed cost; None if the tail would need a scan."""
        if snap.hits is None and len(snap.tail_t):
            return None
        f_off, f_t, f_v = snap.f_off, snap.f_t, snap.f_v
        nf = len(f_off) - 1
        hits = snap.hits if snap.hits is not None and len(snap.hits) else None
        hit_refs = None if hits is None else snap.tail_ref[hits]
        ts: list[I64] = []
        vs: list[F64] = []
        counts = [0]
        for r in refs:
            n = 0
            if r < nf:
                a, b = f_off[r:r + 2].tolist()
                if b > a:
                    ft = f_t[a:b]
                    i = a + int(ft.searchsorted(mint))
                    j = a + int(ft.searchsorted(maxt, "right"))
                    if j > i:  # frozen samples come before the tail's in time
                        ts.append(f_t[i:j])
                        vs.append(f_v[i:j])
                        n = j - i
            if hit_refs is not None:
                pos = hits[hit_refs == r]  # type: ignore[index]
                if len(pos):
                    tt = snap.tail_t[pos]
                    pos = pos[(tt >= mint) & (tt <= maxt)]
                    if len(pos):
                        ts.append(snap.tail_t[pos])
                        vs.append(snap.tail_v[pos])
                        n += len(pos)
            counts.append(counts[-1] + n)
        offsets = np.asarray(counts, np.int64)
        if len(ts) == 1:
            t, v = ts[0].view(), vs[0].view()
            t.flags.writeable = False
            v.flags.writeable = False
            return offsets, t, v
        if not ts:
            return offsets, np.empty(0, np.int64), np.empty(0, np.float64)
        return offsets, np.concatenate(ts), np.concatenate(vs)

    # -- truncation -------------------------------------------------------------
    def cut(self, boundary: int) -> HeadData:
        """Remove and return samples before ``boundary``; drop series left empty."""
        self.fold()
        starts, ends = self.f_off[:-1], self.f_off[1:]
        split = seg_search(self.f_t, starts, ends, boundary)
        has_old = np.flatnonzero(split > starts)
        idx, boffs = ranges_index(starts[has_old], split[has_old])
        out = HeadData([self.labels[r] for r in has_old.tolist()], boffs, self.f_t[idx], self.f_v[idx])
        live = np.flatnonzero(ends > split)
        kidx, koffs = ranges_index(split[live], ends[live])
        self._renumber(live, koffs, self.f_t[kidx], self.f_v[kidx])
        self.min_valid_time = max(self.min_valid_time, boundary)
        return out

    def _renumber(self, live: I64, offs: I64, t: I64, v: F64) -> None:
        old_labels = self.labels
        last_t, last_v = self.last_t[live], self.last_v[live]
        self._reset()
        for ls in (old_labels[r] for r in live.tolist()):
            self.create_series(ls)
        n = len(live)
        self.last_t[:n], self.last_v[:n] = last_t, last_v
        self._set_frozen(offs, t, v)
        if len(t):
            self.first_t[:n] = t[offs[:-1]]
            self.mint, self.maxt = int(t.min()), int(t.max())

    def load(self, refs: I64, t: I64, v: F64) -> None:
        """Replay: add logged samples (in log order) without order checks."""
        if len(t) == 0:
            return
        order = np.argsort(refs, kind="stable")
        refs, t, v = refs[order], t[order], v[order]
        last = np.flatnonzero(np.append(refs[1:] != refs[:-1], True))
        self.append(refs, t, v, last)
        self.fold()


def _tail_hits(tail_ref: I64, refs: I64, nrefs: int) -> tuple[I64, I64]:
    """Positions in the tail of samples of ``refs`` (ascending) and each one's position
    in ``refs``. A few refs are compared directly, saving a pass over a refs-sized map."""
    if len(refs) <= _FEW_REFS:
        hit = tail_ref == refs[0]
        for r in refs[1:].tolist():
            hit |= tail_ref == r
        idx = np.flatnonzero(hit)
        order = np.argsort(refs)
        return idx, order[np.searchsorted(refs[order], tail_ref[idx])]
    pos_of = np.full(nrefs, -1, np.int64)
    pos_of[refs] = np.arange(len(refs), dtype=np.int64)
    keys = pos_of[tail_ref]
    idx = np.flatnonzero(keys >= 0)
    return idx, keys[idx]
