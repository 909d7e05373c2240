"""Damaged WAL segments and block files: the right data, or the loss declared and the
damaged bytes quarantined, never a wrong answer and never a crash on open."""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from sloguard.tsdb import TSDB, BlockWriter, TSDBOptions
from sloguard.tsdb._integrity import BlockCorruptError

from .conftest import OpenDB, as_dict, commit, select_all, up

BD = 10_000
SERIES = 4


def _fill_segments(db: TSDB, batches: int) -> dict[str, list[int]]:
    """One commit per batch (a series record first, then one samples record each)."""
    truth: dict[str, list[int]] = {}
    for b in range(batches):
        app = db.appender()
        for s in range(SERIES):
            app.append(up(i=str(s)), 1000 * (b + 1), float(b))
            truth.setdefault(f'up{{i="{s}"}}', []).append(1000 * (b + 1))
        assert app.commit().rejected_total == 0
    return truth


def _segments(data: Path) -> list[Path]:
    return sorted(p for p in (data / "wal").iterdir() if p.name.isdigit() and p.stat().st_size)


def test_flipped_bytes_mid_segment_1_of_3_lose_one_record_and_keep_segments_2_and_3(
    open_db: OpenDB, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    rec = 8 + 5 + 20 * SERIES
    db = open_db(wal_segment_bytes=30 * rec)
    truth = _fill_segments(db, 80)
    db.close()
    segs = _segments(data)
    assert len(segs) == 3
    raw = bytearray(segs[1].read_bytes())
    mid = len(raw) // 2 + 20  # inside a record's samples (its header intact: its count is known)
    raw[mid:mid + 16] = bytes(x ^ 0x5A for x in raw[mid:mid + 16])
    segs[1].write_bytes(bytes(raw))
    with caplog.at_level(logging.INFO, logger="sloguard.tsdb"):
        db = open_db()
    r = db.replay_report
    got = as_dict(select_all(db))
    kept = sum(len(t) for t, _ in got.values())
    lost_batches = {t for s, ts in truth.items() for t in ts if t not in got[s][0]}
    assert len(lost_batches) == 1  # 16 bytes inside one record cost that record only
    assert kept == 80 * SERIES - SERIES == r.samples
    assert (r.dropped_records, r.dropped_samples, r.dropped_segments) == (1, SERIES, 0)
    assert all(got[s][0] == [t for t in ts if t not in lost_batches] for s, ts in truth.items())
    errors = [m for m in caplog.records if m.levelno == logging.ERROR]
    assert len(errors) == 1 and str(segs[1]) in errors[0].getMessage()
    assert r.damage[0].ranges[0][0] <= mid < r.damage[0].ranges[0][1]
    assert Path(r.damage[0].quarantined_to).read_bytes() == bytes(raw)
    stats = db.stats()
    assert (stats.wal_corruptions_total, stats.wal_replay_samples_lost) == (1, SERIES)
    commit(db, up(i="0"), [999_000], [1.0])  # appends continue in a fresh segment
    db.close()
    again = open_db()
    assert not again.replay_report.dropped_anything
    assert as_dict(select_all(again))['up{i="0"}'][0] == [*got['up{i="0"}'][0], 999_000]


def test_samples_whose_series_record_was_lost_are_counted_not_misattributed(open_db: OpenDB, tmp_path: Path) -> None:
    db = open_db()
    commit(db, up(i="a"), [1000], [1.0])
    commit(db, up(i="b"), [1000], [2.0])  # series record for b, then its samples record
    commit(db, up(i="b"), [2000], [3.0])
    db.close()
    seg = _segments(tmp_path / "data")[-1]
    raw = bytearray(seg.read_bytes())
    start = raw.index(b"\x01\x00i\x01\x00\x00\x00b")  # label i="b" as a series record encodes it
    raw[start + 7] ^= 0xFF  # inside b's series record
    seg.write_bytes(bytes(raw))
    db = open_db()
    r = db.replay_report
    assert as_dict(select_all(db)) == {'up{i="a"}': ([1000], [1.0])}
    assert r.orphan_samples == 2 and r.dropped_samples == 2 and r.dropped_records == 1
    commit(db, up(i="c"), [5000], [7.0])  # c may get b's old ref: b's samples must not follow
    db.close()
    assert as_dict(select_all(open_db())) == {'up{i="a"}': ([1000], [1.0]), 'up{i="c"}': ([5000], [7.0])}


# -- blocks -------------------------------------------------------------------------


def _two_blocks(data: Path) -> tuple[Path, Path, dict[str, tuple[list[int], list[float]]]]:
    with BlockWriter(data, block_duration_ms=BD) as bw:
        for s in range(3):
            ts = np.arange(0, 2 * BD, 500, dtype=np.int64)
            bw.add(up(i=str(s)), ts, (ts * 0.5 + s).astype(np.float64))
    db = TSDB.open(data, TSDBOptions(block_duration_ms=BD))
    truth = as_dict(select_all(db))
    db.close()
    first, second = sorted(p for p in data.iterdir() if (p / "meta.json").exists())
    return first, second, truth


def _flip(path: Path, at: float, n: int = 16) -> None:
    raw = bytearray(path.read_bytes())
    i = min(int(len(raw) * at), len(raw) - n)
    raw[i:i + n] = bytes(x ^ 0xA5 for x in raw[i:i + n])
    path.write_bytes(bytes(raw))


DAMAGE: dict[str, Callable[[Path], object]] = {
    "tminmax": lambda b: _flip(b / "tminmax.npy", 0.9),
    "offsets": lambda b: _flip(b / "offsets.npy", 0.9),
    "frames": lambda b: _flip(b / "frames.npy", 0.9),
    "chunks": lambda b: _flip(b / "chunks", 0.5),
    "labels": lambda b: _flip(b / "labels.json.zst", 0.5, 4),
    "meta": lambda b: _flip(b / "meta.json", 0.3, 1),
    "meta deleted": lambda b: (b / "meta.json").unlink(),
    "chunks truncated": lambda b: os.truncate(b / "chunks", (b / "chunks").stat().st_size // 2),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_block_is_quarantined_with_a_named_error_and_never_served(
    tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    first, second, truth = _two_blocks(data)
    DAMAGE[damage](first)
    with caplog.at_level(logging.ERROR, logger="sloguard.tsdb"):
        db = TSDB.open(data, TSDBOptions(block_duration_ms=BD))
    got = as_dict(select_all(db))
    assert got == {s: ([t for t in ts if t >= BD], [v for t, v in zip(ts, vs, strict=True) if t >= BD])
                   for s, (ts, vs) in truth.items()}
    assert not first.exists() and (data / "quarantine" / first.name).is_dir()
    (q,) = db.stats().quarantined_blocks
    assert q.ulid == first.name and str(first) in q.reason
    assert any(first.name in m and "quarantined" in m for m in caplog.messages)
    db.close()


def test_a_block_without_checksums_still_opens(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = tmp_path / "data"
    first, _, truth = _two_blocks(data)
    meta = json.loads((first / "meta.json").read_text())
    del meta["sloguard"]["files"], meta["sloguard"]["metaCrc32"]
    (first / "meta.json").write_text(json.dumps(meta))
    with caplog.at_level(logging.INFO, logger="sloguard.tsdb"):
        db = TSDB.open(data, TSDBOptions(block_duration_ms=BD))
    assert as_dict(select_all(db)) == truth
    assert any("no checksums" in m for m in caplog.messages)
    db.close()


@pytest.mark.parametrize("at,what", [(0, b"\xff" * 64), (0.5, None)])
def test_a_frame_damaged_after_open_fails_the_query_by_name_and_is_quarantined_on_reload(
    tmp_path: Path, at: float, what: bytes | None
) -> None:
    data = tmp_path / "data"
    first, _, truth = _two_blocks(data)
    db = TSDB.open(data, TSDBOptions(block_duration_ms=BD))
    chunks = first / "chunks"
    pos = int(chunks.stat().st_size * at)
    with open(chunks, "r+b") as f:  # the mapping sees bytes changed under it
        f.seek(pos)
        old = f.read(1)
        f.seek(pos)
        f.write(what or bytes([old[0] ^ 0x01]))  # one flipped bit may still decode: the frame CRC catches it
    with pytest.raises(BlockCorruptError, match="chunks frame 0 .* does not decode") as e:
        select_all(db, mint=0, maxt=BD - 1)
    assert what is not None or "do not match the CRC32" in str(e.value)
    db.reload_blocks()
    assert (data / "quarantine" / first.name).is_dir() and db.stats().blocks_quarantined == 1
    assert as_dict(select_all(db)) == {s: ([t for t in ts if t >= BD], [v for t, v in zip(ts, vs, strict=True) if t >= BD])
                                       for s, (ts, vs) in truth.items()}
    db.close()


def test_reload_picks_up_complete_blocks_only(tmp_path: Path) -> None:
    data = tmp_path / "data"
    db = TSDB.open(data, TSDBOptions(block_duration_ms=BD))
    commit(db, up(), [50_000], [5.0])
    other = tmp_path / "other"
    with BlockWriter(other, block_duration_ms=BD) as bw:
        bw.add(up(), np.array([1000, 2000]), np.array([1.0, 2.0]))
    (src,) = [p for p in other.iterdir() if (p / "meta.json").exists()]
    half = data / src.name
    half.mkdir()
    shutil.copy(src / "chunks", half / "chunks")  # a copy under way: no meta.json yet
    db.reload_blocks()
    assert as_dict(select_all(db))["up"][0] == [50_000] and half.exists()
    for p in src.iterdir():
        shutil.copy(p, half / p.name)
    db.reload_blocks()
    assert as_dict(select_all(db))["up"][0] == [1000, 2000, 50_000]
    assert db.stats().blocks_quarantined == 0
    db.close()


def test_a_damaged_checkpoint_keeps_its_other_records_and_the_segments_after_it(open_db: OpenDB, tmp_path: Path) -> None:
    data = tmp_path / "data"
    db = open_db(block_duration_ms=BD, auto_compact=False)
    for s in range(SERIES):
        commit(db, up(i=str(s)), list(range(0, 18_000, 1000)), [float(s)] * 18)
    db.compact()  # cuts [0, 10s) into a block and checkpoints the rest of the head
    db.close()
    db = open_db(block_duration_ms=BD, auto_compact=False)
    commit(db, up(i="0"), [20_000], [2.0])  # into the segment after the checkpoint
    truth = as_dict(select_all(db))
    db.close()
    (cp,) = [p for p in (data / "wal").iterdir() if p.name.startswith("checkpoint.")]
    seg = cp / "00000000"
    raw = bytearray(seg.read_bytes())
    raw[-10] ^= 0xFF  # inside the checkpoint's last samples record
    seg.write_bytes(bytes(raw))
    db = open_db(block_duration_ms=BD, auto_compact=False)
    r = db.replay_report
    got = as_dict(select_all(db))
    assert r.damage[0].file == str(seg) and r.dropped_records == 1 and r.dropped_samples > 0
    assert got['up{i="0"}'][0][-1] == 20_000  # the segment after the checkpoint is kept
    for name, (ts, vs) in got.items():  # nothing wrong, only samples of the damaged record missing
        assert dict(zip(ts, vs, strict=True)).items() <= dict(zip(*truth[name], strict=True)).items()
    lost = sum(len(t) for t, _ in truth.values()) - sum(len(t) for t, _ in got.values())
    assert lost == r.dropped_samples
    db.close()
    assert not open_db(block_duration_ms=BD, auto_compact=False).replay_report.dropped_anything


def test_a_missing_middle_segment_is_reported(open_db: OpenDB, tmp_path: Path) -> None:
    data = tmp_path / "data"
    db = open_db(wal_segment_bytes=10 * (8 + 5 + 20 * SERIES))
    _fill_segments(db, 40)
    db.close()
    segs = _segments(data)
    assert len(segs) >= 3
    segs[1].unlink()
    db = open_db()
    r = db.replay_report
    assert r.corrupted and any(str(segs[1]) in d.file and "is missing" in d.file for d in r.damage)
    assert db.stats().wal_corruptions_total == 1
