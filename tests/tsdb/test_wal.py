from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from sloguard.tsdb import TSDB, FsyncPolicy, TSDBOptions

from .conftest import OpenDB, as_dict, commit, select_all, up


def _fill(db: TSDB, batches: int, series: int = 5) -> None:
    for b in range(batches):
        app = db.appender()
        for s in range(series):
            app.append(up(i=str(s)), 1000 * (b + 1), float(b * 10 + s))
        assert app.commit().rejected_total == 0


def _segment(path: Path) -> Path:
    segs = sorted(p for p in (path / "wal").iterdir() if p.name.isdigit() and p.stat().st_size)
    return segs[-1]


def test_replay_after_clean_close_restores_everything(open_db: OpenDB, tmp_path: Path) -> None:
    db = open_db()
    _fill(db, 20)
    before = as_dict(select_all(db))
    db.close()
    db2 = open_db()
    assert as_dict(select_all(db2)) == before
    r = db2.replay_report
    assert (r.samples, r.series, r.dropped_bytes) == (100, 5, 0)


@pytest.mark.parametrize("policy", list(FsyncPolicy))
def test_replay_after_unclean_stop_keeps_acknowledged_samples(open_db: OpenDB, policy: FsyncPolicy) -> None:
    db = open_db(fsync=policy)
    _fill(db, 10)
    before = as_dict(select_all(db))
    db2 = open_db()  # the first one was never closed
    assert as_dict(select_all(db2)) == before


def test_appends_continue_after_reopen(open_db: OpenDB) -> None:
    db = open_db()
    _fill(db, 3)
    db.close()
    db = open_db()
    commit(db, up(i="0"), [10_000], [1.5])
    commit(db, up(i="new"), [10_000], [2.5])
    db.close()
    db = open_db()
    got = as_dict(select_all(db))
    assert got['up{i="0"}'][0] == [1000, 2000, 3000, 10_000]
    assert got['up{i="new"}'] == ([10_000], [2.5])


def test_truncated_tail_is_cut_and_reported(open_db: OpenDB, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = open_db()
    _fill(db, 10)
    db.close()
    seg = _segment(tmp_path / "data")
    size = seg.stat().st_size
    os.truncate(seg, size - 7)  # cut mid-record: the last batch is torn
    with caplog.at_level(logging.WARNING, logger="sloguard.tsdb"):
        db = open_db()
    r = db.replay_report
    assert r.dropped_records == 1 and 0 < r.dropped_bytes < size
    got = as_dict(select_all(db))
    assert got['up{i="0"}'][0] == [1000 * (b + 1) for b in range(9)]
    assert any("dropped" in m and str(r.dropped_bytes) in m for m in caplog.messages)
    commit(db, up(i="0"), [99_000], [1.0])  # the repaired WAL accepts appends
    db.close()
    assert as_dict(select_all(open_db()))['up{i="0"}'][0][-1] == 99_000


def test_corrupt_record_is_dropped_quarantined_and_the_records_after_it_kept(
    open_db: OpenDB, tmp_path: Path
) -> None:
    db = open_db()
    _fill(db, 10)
    db.close()
    seg = _segment(tmp_path / "data")
    original = seg.read_bytes()
    data = bytearray(original)
    rec = 8 + 5 + 20 * 5  # one samples record of 5 samples (frame + header + arrays)
    pos = len(data) - 3 * rec + 20  # inside the third record from the end (batch 8)
    data[pos] ^= 0xFF
    data[pos + 1] ^= 0xFF
    seg.write_bytes(bytes(data))
    db = open_db()
    r = db.replay_report
    assert (r.dropped_records, r.dropped_samples, r.dropped_bytes) == (1, 5, rec)
    assert r.corrupted and r.damage[0].ranges == ((len(data) - 3 * rec, len(data) - 2 * rec),)
    assert Path(r.damage[0].quarantined_to).read_bytes() == bytes(data)  # the damaged file, kept
    want = [1000 * (b + 1) for b in range(10) if b != 7]
    assert all(ts == want for ts, _ in as_dict(select_all(db)).values())
    db.close()
    again = open_db()  # repaired: the same damage is not found twice
    assert not again.replay_report.dropped_anything
    assert all(ts == want for ts, _ in as_dict(select_all(again)).values())


def test_segments_after_a_corrupt_one_are_kept(open_db: OpenDB, tmp_path: Path) -> None:
    db = open_db(wal_segment_bytes=300)
    _fill(db, 10)
    db.close()
    segs = sorted(p for p in (tmp_path / "data" / "wal").iterdir() if p.name.isdigit())
    assert len(segs) > 3
    data = bytearray(segs[1].read_bytes())
    data[-1] ^= 0xFF
    segs[1].write_bytes(bytes(data))
    db = open_db()
    r = db.replay_report
    assert r.dropped_segments == 0 and r.dropped_records == 1 and r.dropped_samples == 5
    got = as_dict(select_all(db))
    assert sum(len(ts) for ts, _ in got.values()) == 45
    assert all(len(ts) == 9 and ts[-1] == 10_000 for ts, _ in got.values())


_CHILD = textwrap.dedent("""
    import sys
    from sloguard.labels import Labels
    from sloguard.tsdb import TSDB
    db = TSDB.open(sys.argv[1])
    b = 0
    while True:
        b += 1
        app = db.appender()
        for s in range(20):
            app.append(Labels.of(name__="up", i=str(s)), b * 1000, float(b))
        res = app.commit()
        assert res.appended == 20
        print(b, flush=True)
""")


def test_sigkill_mid_stream_loses_no_acknowledged_sample(tmp_path: Path) -> None:
    path = tmp_path / "data"
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(path)], stdout=subprocess.PIPE, env=env, text=True)
    assert child.stdout is not None
    acked = 0
    try:
        for line in child.stdout:
            acked = int(line)
            if acked >= 200:
                break
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    assert acked >= 200, "child stopped early"
    db = TSDB.open(path, TSDBOptions())
    batch = select_all(db)
    assert len(batch) == 20
    for i in range(len(batch)):
        _, t, v = batch.series(i)
        assert np.array_equal(t[:acked], np.arange(1, acked + 1) * 1000)
        assert np.array_equal(v[:acked], np.arange(1, acked + 1, dtype=np.float64))
    db.close()


def test_concurrent_commits_from_threads_are_all_stored_and_logged(open_db: OpenDB) -> None:
    import threading

    db = open_db(block_duration_ms=20_000)
    errors: list[str] = []
    step = threading.Barrier(4)  # keep writers within one batch of each other

    def writer(w: int) -> None:
        for b in range(80):
            step.wait()
            app = db.appender()
            for s in range(10):
                app.append(up(w=str(w), s=str(s)), b * 500, float(b))
            res = app.commit()
            if res.rejected_total or res.appended != 10:
                errors.append(str(res))

    def reader() -> None:  # every sample read must be one that was written (v = t / 500)
        for _ in range(40):
            batch = select_all(db)
            if len(batch) and not (np.diff(batch.offsets) > 0).all():
                errors.append("empty series in a batch")
            if not np.array_equal(batch.values * 500, batch.timestamps.astype(np.float64)):
                errors.append("a reader saw samples that were never written")

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)] + [threading.Thread(target=reader)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    before = as_dict(select_all(db))
    assert len(before) == 40 and all(t == [b * 500 for b in range(80)] for t, _ in before.values())
    assert db.stats().blocks >= 1  # compactions ran while writers and readers were busy
    db.close()
    assert as_dict(select_all(open_db(block_duration_ms=20_000))) == before


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(("policy", "want"), [(FsyncPolicy.PER_COMMIT, 6), (FsyncPolicy.INTERVAL, 2), (FsyncPolicy.NEVER, 0)])
def test_fsync_policy_decides_when_commits_fsync(open_db: OpenDB, policy: FsyncPolicy, want: int) -> None:
    clock = FakeClock()
    db = open_db(fsync=policy, fsync_interval_ms=1000, monotonic=clock)
    for i in range(6):
        clock.now += 0.4  # 2.4s in all: the interval policy syncs at 1.2s and 2.4s
        commit(db, up(), [i * 1000], [1.0])
    assert db.stats().wal_fsyncs_total == want


def test_a_foreign_data_directory_is_refused_and_left_untouched(tmp_path: Path) -> None:
    from sloguard.tsdb import TSDBError

    path = tmp_path / "prom"
    (path / "wal").mkdir(parents=True)
    seg = path / "wal" / "00000000"
    seg.write_bytes(b"\x01prometheus-record-bytes")
    with pytest.raises(TSDBError, match="refusing to use .* no sloguard-tsdb.json"):
        TSDB.open(path)
    assert seg.read_bytes() == b"\x01prometheus-record-bytes"


def test_one_fsync_covers_every_commit_written_before_it(tmp_path: Path) -> None:
    from sloguard.tsdb._wal import WALWriter

    wal = WALWriter(tmp_path, 1 << 20, FakeClock())
    first = wal.log([b"commit one"])
    second = wal.log([b"commit two"])
    wal.sync_to(second)  # the later committer's fsync ...
    wal.sync_to(first)  # ... already made the earlier commit durable
    assert wal.fsyncs == 1 and wal.synced_total == second
    wal.close()
