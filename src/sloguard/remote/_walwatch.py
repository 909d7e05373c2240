"""Tailing the TSDB's WAL, like Prometheus' wlog watcher.

A ``WALWatcher`` reads the segments in order from a ``WALPosition`` (segment number, byte
offset after the last whole record read) and hands back ``WALChunk``s: the samples of
the records read, the series defined on the way, and the position after them.

The TSDB renumbers its series refs when it cuts a block: it writes ``checkpoint.N``
(the head with the new refs) and starts segment ``N + 1``, whose records use them. So
before the first record of segment ``N + 1`` the watcher replaces its series with those
of ``checkpoint.N`` (``WALChunk.reset``). Starting at a position, it loads the series of
the newest checkpoint before that segment and of every series record up to the position.
The TSDB keeps those files while a queue needs them (``TSDBOptions.wal_keep``); if they
are gone anyway (the bound was passed), the watcher moves to the oldest data there is
and says so (``skipped``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from sloguard.labels import Labels
from sloguard.tsdb._records import (
    SAMPLES,
    SERIES,
    RecordError,
    decode_samples,
    decode_series,
    record_type,
)
from sloguard.tsdb._types import F64, I64
from sloguard.tsdb._wal import checkpoints, seg_path, segment_numbers
from sloguard.tsdb._walscan import read_frame, resync, scan_segment

log = logging.getLogger("sloguard.remote")
_FRAME = 8
_EMPTY_I = np.zeros(0, np.int64)


@dataclass(frozen=True, slots=True, order=True)
class WALPosition:
    """A place in the WAL: ``offset`` bytes into segment ``segment``, at a record boundary."""

    segment: int
    offset: int


@dataclass(frozen=True, slots=True)
class WALChunk:
    """What one read found. ``reset``: the series refs were renumbered before these
    records; ``series`` then holds every live series (else only new ones). Samples are
    in WAL order; all belong to refs defined in ``series`` now or earlier."""

    series: list[tuple[int, Labels]]
    refs: I64
    t: I64
    v: F64
    end: WALPosition
    reset: bool = False
    damaged_records: int = 0


@dataclass(slots=True)
class _Cursor:
    segment: int
    offset: int
    f: BinaryIO | None = None
    pending: bytes = b""
    checked_checkpoint: bool = False
    damaged: int = field(default=0)


def wal_end(wal_dir: Path) -> WALPosition:
    """The position after the last byte written so far (a new queue starts there)."""
    nums = segment_numbers(wal_dir)
    if not nums:
        return WALPosition(0, 0)
    return WALPosition(nums[-1], seg_path(wal_dir, nums[-1]).stat().st_size)


def _series_of(records: list[memoryview]) -> list[tuple[int, Labels]]:
    out: list[tuple[int, Labels]] = []
    for rec in records:
        try:
            if record_type(rec) == SERIES:
                out += decode_series(rec)
        except RecordError:
            continue
    return out


class WALWatcher:
    """Reads the WAL in ``wal_dir`` from ``start`` (see the module doc). Not thread-safe:
    one caller at a time (a queue reads it from a worker thread)."""

    def __init__(self, wal_dir: Path, start: WALPosition, read_bytes: int = 1 << 20) -> None:
        self.dir = wal_dir
        self.read_bytes = read_bytes
        self.skipped: list[str] = []
        self._looks = 0
        self._cur = _Cursor(start.segment, start.offset)
        self._initial = self._load_series(start)

    @property
    def position(self) -> WALPosition:
        return WALPosition(self._cur.segment, self._cur.offset)

    def _load_series(self, start: WALPosition) -> list[tuple[int, Labels]]:
        """Series defined before ``start``: newest checkpoint before its segment, then the
        series records of the segments up to it."""
        nums = segment_numbers(self.dir)
        if start.segment not in nums and any(n > start.segment for n in nums):
            start = self._skip_lost(start, nums)
        cps = [(n, p) for n, p in checkpoints(self.dir) if n < start.segment]
        series: dict[int, Labels] = {}
        after = -1
        if cps:
            after, cp = cps[-1]
            series.update(_series_of(scan_segment(seg_path(cp, 0)).records))
        for n in (n for n in nums if after < n <= start.segment):
            data = memoryview(seg_path(self.dir, n).read_bytes())
            if n == start.segment:
                start = self._clamp(start, len(data))
                data = data[:start.offset]
            series.update(_series_of(_frames(data)))
        self._cur = _Cursor(start.segment, start.offset, checked_checkpoint=True)
        return sorted(series.items())

    def _clamp(self, start: WALPosition, size: int) -> WALPosition:
        """A stored offset past the segment's end (its last records were lost in a machine
        crash before they reached the disk): resume at the end."""
        if start.offset <= size:
            return start
        log.warning("remote write position %s is past the end of WAL segment %d (%d bytes); resuming there",
                    start, start.segment, size)
        return WALPosition(start.segment, size)

    def _skip_lost(self, start: WALPosition, nums: list[int]) -> WALPosition:
        cps = [n for n, _ in checkpoints(self.dir)]
        first = min(n for n in nums if n > start.segment)
        nxt = max(first, cps[-1] + 1 if cps else first)
        nxt = min((n for n in nums if n >= nxt), default=nums[-1])
        msg = (f"WAL segment {start.segment} at {self.dir} is gone (deleted before this queue sent it): "
               f"samples from segment {start.segment} to {nxt - 1} are not sent; resuming at segment {nxt}")
        log.error(msg)
        self.skipped.append(msg)
        return WALPosition(nxt, 0)

    def read(self) -> WALChunk | None:
        """The records written since the last read (up to ``read_bytes``), or ``None``."""
        series, self._initial = self._initial, []
        cur = self._cur
        later = self._has_later(cur.segment)  # looked at first: once a later one exists, this one is whole
        data = self._read_more(cur)
        if data is None:
            return self._gone(series)
        if not data and (not cur.pending or not later):
            if later:
                self._next_segment(cur)
                return self.read() if not series else self._chunk(series, [], False)
            return self._chunk(series, [], False) if series else None
        reset, new = self._maybe_checkpoint(cur)
        if reset:
            series = new
        records = self._frames(cur, cur.pending + data, final=later and not data)
        if not records and not series and not reset and not cur.damaged:
            return None  # only part of a record so far
        return self._chunk(series, records, reset)

    def _chunk(self, series: list[tuple[int, Labels]], records: list[memoryview], reset: bool) -> WALChunk:
        refs, ts, vs = [], [], []
        damaged, self._cur.damaged = self._cur.damaged, 0
        for rec in records:
            try:
                kind = record_type(rec)
                if kind == SERIES:
                    series += decode_series(rec)
                elif kind == SAMPLES:
                    r, t, v = decode_samples(rec)
                    refs.append(r)
                    ts.append(t)
                    vs.append(v)
            except RecordError:
                damaged += 1
        return WALChunk(series, _cat_i(refs), _cat_i(ts), np.concatenate(vs) if vs else np.zeros(0, np.float64),
                        self.position, reset, damaged)

    def _has_later(self, segment: int) -> bool:
        """A later segment exists (the next one; a gap after damage repair is noticed by
        listing the directory every 64th look)."""
        self._looks += 1
        if seg_path(self.dir, segment + 1).exists():
            return True
        return self._looks % 64 == 0 and any(n > segment for n in segment_numbers(self.dir))

    def _read_more(self, cur: _Cursor) -> bytes | None:
        if cur.f is None:
            try:
                cur.f = open(seg_path(self.dir, cur.segment), "rb")  # noqa: SIM115 (kept open while tailing)
            except FileNotFoundError:
                return None
            cur.f.seek(cur.offset + len(cur.pending))
        return cur.f.read(self.read_bytes)

    def _gone(self, series: list[tuple[int, Labels]]) -> WALChunk | None:
        """The current segment vanished: resume at the oldest data there is."""
        nums = segment_numbers(self.dir)
        if not any(n > self._cur.segment for n in nums):
            return self._chunk(series, [], False) if series else None
        start = self._skip_lost(self.position, nums)
        new = self._load_series(WALPosition(start.segment, 0))
        return WALChunk(new, _EMPTY_I, _EMPTY_I, np.zeros(0, np.float64), self.position, reset=True)

    def _next_segment(self, cur: _Cursor) -> None:
        if cur.f is not None:
            cur.f.close()
        if cur.pending:
            cur.damaged += 1
            log.warning("WAL segment %s ends with %d bytes of an unfinished record; skipped",
                        seg_path(self.dir, cur.segment), len(cur.pending))
        self._cur = _Cursor(cur.segment + 1, 0)

    def _maybe_checkpoint(self, cur: _Cursor) -> tuple[bool, list[tuple[int, Labels]]]:
        """Before the first record of a segment: the series of ``checkpoint.<segment - 1>``."""
        if cur.checked_checkpoint:
            return False, []
        cur.checked_checkpoint = True
        cp = self.dir / f"checkpoint.{cur.segment - 1:08d}"
        if not cp.is_dir():
            return False, []
        return True, _series_of(scan_segment(seg_path(cp, 0)).records)

    def _frames(self, cur: _Cursor, buf: bytes, final: bool) -> list[memoryview]:
        """Whole records of ``buf`` (which starts at ``cur.offset``); keeps the unfinished
        rest pending. Damaged bytes are skipped like replay does (``resync``)."""
        data = memoryview(buf)
        out: list[memoryview] = []
        o = 0
        while o < len(data):
            payload = read_frame(data, o)
            if payload is not None:
                out.append(payload)
                o += _FRAME + len(payload)
            elif not final and _unfinished(data, o):
                break
            else:
                nxt = resync(data, o + 1)
                if nxt == len(data) and not final:
                    break
                cur.damaged += 1
                o = nxt
        cur.offset += o
        cur.pending = bytes(data[o:])
        return out

    def close(self) -> None:
        if self._cur.f is not None:
            self._cur.f.close()
            self._cur.f = None


def _cat_i(xs: list[I64]) -> I64:
    return np.concatenate(xs) if xs else np.zeros(0, np.int64)


def _unfinished(data: memoryview, o: int) -> bool:
    """The frame at ``o`` is cut short by the end of what was written so far."""
    if o + _FRAME > len(data):
        return True
    length = int.from_bytes(data[o:o + 4], "little")
    return 0 < length < (1 << 31) and o + _FRAME + length > len(data)


def _frames(data: memoryview) -> list[memoryview]:
    """Every whole record of ``data`` (series loading: damage is skipped)."""
    out: list[memoryview] = []
    o = 0
    while o < len(data):
        payload = read_frame(data, o)
        if payload is None:
            o = resync(data, o + 1)
            continue
        out.append(payload)
        o += _FRAME + len(payload)
    return out
