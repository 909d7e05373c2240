"""Per-shard buffers, batches, and which WAL position is safe to store.

Every chunk read from the WAL gets a sequence number and its end position. Its samples
go into the shard buffers as pieces tagged with that number; a batch cut from a buffer
remembers the number of its first piece (``lo``). The position that may be stored is the
end of the newest chunk all of whose samples, and those of every chunk before it, were
acknowledged: the end of chunk ``lo - 1`` for the smallest ``lo`` of any unsent batch or
buffered piece (``Tracker.committable``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from sloguard.remote._walwatch import WALPosition
from sloguard.tsdb._types import F64, I64


@dataclass(frozen=True, slots=True)
class Batch:
    """Samples one shard sends in one request. ``labels`` is the queue's encoded label
    table when the batch was cut (refs index it; a ref renumbering makes a new table)."""

    refs: I64
    t: I64
    v: F64
    lo: int
    labels: Sequence[bytes | None]

    def __len__(self) -> int:
        return len(self.refs)


@dataclass(slots=True)
class ShardBuffer:
    """Samples waiting for a shard's next batch, as (seq, refs, t, v) pieces."""

    pieces: list[tuple[int, I64, I64, F64]] = field(default_factory=list)
    count: int = 0
    since_ms: int = 0  # when the oldest buffered sample arrived

    @property
    def lo(self) -> int | None:
        return self.pieces[0][0] if self.pieces else None

    def add(self, seq: int, refs: I64, t: I64, v: F64, now_ms: int) -> None:
        if not self.pieces:
            self.since_ms = now_ms
        self.pieces.append((seq, refs, t, v))
        self.count += len(refs)

    def take(self, n: int, labels: Sequence[bytes | None], now_ms: int) -> Batch:
        """The oldest ``n`` samples (or all) as a batch."""
        got: list[tuple[int, I64, I64, F64]] = []
        need = n
        while self.pieces and need > 0:
            seq, r, t, v = self.pieces[0]
            if len(r) <= need:
                got.append(self.pieces.pop(0))
                need -= len(r)
            else:
                got.append((seq, r[:need], t[:need], v[:need]))
                self.pieces[0] = (seq, r[need:], t[need:], v[need:])
                need = 0
        taken = n - need
        self.count -= taken
        if self.pieces:
            self.since_ms = now_ms
        cat = np.concatenate
        return Batch(cat([g[1] for g in got]), cat([g[2] for g in got]), cat([g[3] for g in got]),
                     got[0][0], labels)


@dataclass(slots=True)
class Tracker:
    """Chunk ends, and the ``lo`` of every batch not yet acknowledged."""

    ends: dict[int, WALPosition] = field(default_factory=dict)
    unacked: Counter[int] = field(default_factory=Counter)
    next_seq: int = 0
    open_seq: int | None = None

    def open(self, end: WALPosition) -> int:
        seq = self.next_seq
        self.next_seq += 1
        self.ends[seq] = end
        self.open_seq = seq
        return seq

    def close(self) -> None:
        self.open_seq = None

    def sent(self, batch: Batch) -> None:
        self.unacked[batch.lo] += 1

    def acked(self, batch: Batch) -> None:
        self.unacked[batch.lo] -= 1
        if self.unacked[batch.lo] <= 0:
            del self.unacked[batch.lo]

    def committable(self, buffered_lo: int | None) -> WALPosition | None:
        """The newest end whose samples (and all before) were acknowledged."""
        los = [lo for lo in (buffered_lo, self.open_seq, min(self.unacked, default=None)) if lo is not None]
        upto = min(los) - 1 if los else self.next_seq - 1
        if upto < 0 or upto not in self.ends:
            return None
        pos = self.ends[upto]
        for s in [s for s in self.ends if s < upto]:
            del self.ends[s]
        return pos
