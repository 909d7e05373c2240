"""Series of a block copied out of its frames, back to back, many selects per frame decode.

A block stores series in label order, FRAME_SAMPLES samples per frame, so the few series
one rule group selects (one service's) lie in many frames, and one frame holds series of
many groups' selects. A select of such series gathers them into one cached array (a
``Frame`` with ``offsets``), so later selects of the same series search one array. Built
one select at a time, every select decodes every frame its series touch: a rule cycle of
N services over a block of N services' series decodes each frame about N times once the
cache cannot hold the frames. ``gather`` builds the entries of many selects in one pass
over their frames, decoding each frame once (``prefetch`` uses it for the selects of the
rule groups due next; a single select uses it for itself).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sloguard.labels import Matcher
from sloguard.tsdb._cache import Frame
from sloguard.tsdb._types import I64
from sloguard.tsdb._vec import BandKey, ranges_index

if TYPE_CHECKING:
    from sloguard.tsdb._block import Block

GATHER_MAX_SERIES = 256  # at most this many series spread over frames are gathered and cached
BYTES_PER_SAMPLE = 24  # a gathered sample: timestamp, value and search key (int64, float64, int64)

#: One select as the prefetch sees it: matchers and the window it will read.
Select = tuple[Sequence[Matcher], int, int]


@dataclass(frozen=True, slots=True)
class Wanted:
    """Series ``ids`` of a block to gather: each one's first/end sample and frame."""

    ids: I64
    s_start: I64
    s_end: I64
    fid: I64

    @property
    def key(self) -> bytes:
        return self.ids.tobytes()

    @property
    def samples(self) -> int:
        return int((self.s_end - self.s_start).sum())


def wanted(block: Block, ids: I64) -> Wanted:
    s_start = np.asarray(block.offsets[ids])
    s_end = np.asarray(block.offsets[ids + 1])
    fid = np.searchsorted(np.asarray(block.frames[:, 0]), s_start, side="right") - 1
    return Wanted(ids, s_start, s_end, fid)


def gatherable(w: Wanted) -> bool:
    """Series spread over more than one frame, and not too many of them."""
    return 0 < len(w.ids) <= GATHER_MAX_SERIES and int(w.fid[0]) != int(w.fid[-1])


def gather(block: Block, wants: Sequence[Wanted], frame: Callable[[int], Frame]) -> list[Frame]:
    """The gathered entries of ``wants`` (series in the order asked for), reading each
    frame once through ``frame(f)``, in frame order."""
    fstarts = np.asarray(block.frames[:, 0])
    outs = []
    users: dict[int, list[tuple[int, I64]]] = {}
    for j, w in enumerate(wants):
        offsets = np.zeros(len(w.ids) + 1, np.int64)
        np.cumsum(w.s_end - w.s_start, out=offsets[1:])
        n = int(offsets[-1])
        outs.append((offsets, np.empty(n, np.int64), np.empty(n, np.float64)))
        for f in np.unique(w.fid).tolist():
            users.setdefault(f, []).append((j, np.flatnonzero(w.fid == f)))
    for f in sorted(users):
        fr = frame(f)
        base = int(fstarts[f])
        for j, sel in users[f]:
            w, (offsets, t, v) = wants[j], outs[j]
            src, _ = ranges_index(w.s_start[sel] - base, w.s_end[sel] - base)
            dst, _ = ranges_index(offsets[sel], offsets[sel + 1])
            t[dst] = fr.t[src]
            v[dst] = fr.v[src]
    entries = []
    for offsets, t, v in outs:
        t.flags.writeable = False
        v.flags.writeable = False
        entries.append(Frame(t, v, BandKey.build(offsets, t), 0, offsets))
    return entries


def prefetch(blocks: Iterable[Block], selects: Sequence[Select], budget: int) -> int:
    """Gather, one decode per frame, the block series of the leading ``selects`` whose
    gathered entries fit in ``budget`` bytes together; returns how many selects that is
    (all of them, or the index of the first that did not fit). Series a select reads
    from one frame, or too many to gather, cost nothing; series already gathered count
    against the budget (they must stay cached) but are not read again."""
    blocks = list(blocks)
    plan: dict[str, dict[bytes, Wanted]] = {b.ulid: {} for b in blocks}
    seen: dict[str, set[bytes]] = {b.ulid: set() for b in blocks}
    used, done = 0, len(selects)
    for i, (matchers, mint, maxt) in enumerate(selects):
        mine = []
        for b in blocks:
            if not b.overlaps(mint, maxt):
                continue
            ids = b.resolve(matchers)
            ids = b.series_in_range(ids, mint, maxt) if len(ids) else ids
            if len(ids) == 0 or len(ids) > GATHER_MAX_SERIES:
                continue
            w = wanted(b, ids)
            if gatherable(w) and w.key not in seen[b.ulid]:
                mine.append((b, w))
        # entries already cached count too: they must stay there until their selects run
        cost = BYTES_PER_SAMPLE * sum(w.samples for _, w in mine)
        if used + cost > budget:
            done = i
            break
        used += cost
        for b, w in mine:
            seen[b.ulid].add(w.key)
            if not b.is_gathered(w.key):
                plan[b.ulid][w.key] = w
    for b in blocks:
        if plan[b.ulid]:
            b.gather_into_cache(list(plan[b.ulid].values()))
    return done
