"""The WAL watcher: tailing a segment being written, damage, a position past the end."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sloguard.labels import Labels
from sloguard.remote.write import WALPosition, WALWatcher
from sloguard.tsdb._records import encode_samples, encode_series
from sloguard.tsdb._wal import frame, seg_path


def _samples(ref: int, t: int, v: float) -> bytes:
    return frame(encode_samples(np.array([ref]), np.array([t]), np.array([v])))


def _wal(tmp: Path) -> Path:
    wal = tmp / "wal"
    wal.mkdir()
    seg_path(wal, 0).write_bytes(frame(encode_series([(0, Labels.of(__name__="a")), (1, Labels.of(__name__="b"))])))
    return wal


def test_an_unfinished_record_is_read_once_it_is_whole(tmp_path: Path) -> None:
    wal = _wal(tmp_path)
    w = WALWatcher(wal, WALPosition(0, 0))
    first = w.read()
    assert first is not None and [ls for _, ls in first.series] == [Labels.of(__name__="a"), Labels.of(__name__="b")]
    rec = _samples(1, 1000, 2.5)
    with seg_path(wal, 0).open("ab") as f:
        f.write(rec[:7])  # the writer is half-way through
    assert w.read() is None
    with seg_path(wal, 0).open("ab") as f:
        f.write(rec[7:])
    got = w.read()
    assert got is not None and got.refs.tolist() == [1] and got.v.tolist() == [2.5]
    assert got.end == WALPosition(0, seg_path(wal, 0).stat().st_size)


def test_a_damaged_record_is_skipped_and_the_next_ones_are_read(tmp_path: Path) -> None:
    wal = _wal(tmp_path)
    bad = bytearray(_samples(0, 1, 1.0))
    bad[-1] ^= 0xFF  # checksum no longer matches
    with seg_path(wal, 0).open("ab") as f:
        f.write(bytes(bad) + _samples(0, 2, 2.0))
    seg_path(wal, 1).write_bytes(_samples(1, 3, 3.0))  # a later segment: the damage is final
    w = WALWatcher(wal, WALPosition(0, 0))
    seen: list[tuple[int, int]] = []
    damaged = 0
    for _ in range(5):
        c = w.read()
        if c is None:
            break
        seen += list(zip(c.refs.tolist(), c.t.tolist(), strict=True))
        damaged += c.damaged_records
    assert seen == [(0, 2), (1, 3)] and damaged == 1


def test_a_position_past_the_segment_end_resumes_at_the_end(tmp_path: Path) -> None:
    wal = _wal(tmp_path)
    size = seg_path(wal, 0).stat().st_size
    w = WALWatcher(wal, WALPosition(0, size + 500))
    assert w.position == WALPosition(0, size)
    with seg_path(wal, 0).open("ab") as f:
        f.write(_samples(0, 9, 9.0))
    got = w.read()
    assert got is not None and got.t.tolist() == [9]
    assert [ls for _, ls in got.series] == [Labels.of(__name__="a"), Labels.of(__name__="b")]  # loaded at start
