from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from sloguard.labels import Matcher
from sloguard.tsdb import STALE_NAN, STALE_NAN_BITS, TSDB, BlockWriter, RejectReason, TSDBOptions

from .conftest import OpenDB, as_dict, commit, select_all, up

BD = 10_000  # block duration used in these tests (ms)


def _block_dirs(path: Path) -> list[Path]:
    return sorted(p for p in path.iterdir() if (p / "meta.json").exists())


def _stream(db: TSDB, start: int, end: int, step: int = 1000, series: int = 3) -> None:
    for t in range(start, end, step):
        app = db.appender()
        for s in range(series):
            app.append(up(i=str(s)), t, t / 1000 + s * 0.001)
        assert app.commit().rejected_total == 0


def test_head_is_cut_into_aligned_blocks_when_it_spans_one_and_a_half_blocks(open_db: OpenDB, tmp_path: Path) -> None:
    db = open_db(block_duration_ms=BD)
    _stream(db, 3000, 18_000)
    assert db.stats().blocks == 0  # 3s..17s spans 14s < 15s
    _stream(db, 18_000, 20_000)  # at 19s the head spans 16s > 1.5 blocks
    dirs = _block_dirs(tmp_path / "data")
    assert len(dirs) == 1
    meta = json.loads((dirs[0] / "meta.json").read_text())
    assert (meta["minTime"], meta["maxTime"]) == (0, BD)
    assert meta["stats"] == {"numSamples": 21, "numSeries": 3, "numChunks": 1}
    assert meta["sloguard"]["source"] == "head"
    assert db.stats().head_min_time == BD
    got = as_dict(select_all(db))
    assert got['up{i="1"}'][0] == list(range(3000, 20_000, 1000))
    assert got['up{i="1"}'][1][0] == 3.001


def test_wal_is_truncated_behind_blocks_and_reopen_uses_mmapped_blocks(open_db: OpenDB, tmp_path: Path) -> None:
    db = open_db(block_duration_ms=BD, max_block_duration_ms=BD)
    _stream(db, 0, 40_000)
    before = as_dict(select_all(db))
    st = db.stats()
    assert st.blocks == 3 and st.compactions_total == 3  # cut at 16s, 26s and 36s
    wal = tmp_path / "data" / "wal"
    cps = [p.name for p in wal.iterdir() if p.name.startswith("checkpoint.")]
    assert len(cps) == 1
    assert min(int(p.name) for p in wal.iterdir() if p.name.isdigit()) > int(cps[0].split(".")[1])
    db.close()
    db = open_db(block_duration_ms=BD, max_block_duration_ms=BD)
    assert as_dict(select_all(db)) == before
    assert db.replay_report.samples == db.stats().head_samples == 30
    assert db.blocks[0].frames.__class__ is np.memmap


def test_samples_older_than_the_head_are_out_of_bounds(open_db: OpenDB) -> None:
    db = open_db(block_duration_ms=BD)
    _stream(db, 0, 20_000)
    app = db.appender()
    app.append(up(i="brand-new"), 500, 1.0)
    app.append(up(i="0"), 600, 1.0)
    res = app.commit()
    assert res.rejected == {RejectReason.OUT_OF_BOUNDS: 2}
    assert "out of bounds" in res.errors[0]
    assert db.stats().head_series == 3


def test_select_merges_blocks_and_head_within_inclusive_range(open_db: OpenDB) -> None:
    db = open_db(block_duration_ms=BD)
    _stream(db, 0, 30_000)
    b = select_all(db, mint=8000, maxt=21_000)
    assert [str(x) for x in b.labels] == ['up{i="0"}', 'up{i="1"}', 'up{i="2"}']
    _, t, _ = b.series(2)
    assert t.tolist() == list(range(8000, 22_000, 1000))
    assert b.offsets.tolist() == [0, 14, 28, 42]


def test_retention_by_time_drops_old_blocks(open_db: OpenDB) -> None:
    db = open_db(block_duration_ms=BD, retention_ms=0, max_block_duration_ms=BD)
    _stream(db, 0, 50_000)
    assert [b.mint for b in db.blocks] == [0, 10_000, 20_000, 30_000]
    db.close()
    db = open_db(block_duration_ms=BD, retention_ms=25_000, max_block_duration_ms=BD)
    db.compact(now_ms=36_000)  # only block [0,10s) ends before 11s
    assert [b.mint for b in db.blocks] == [10_000, 20_000, 30_000]
    assert db.stats().retention_deleted_blocks_total == 1
    assert select_all(db).series(0)[1][0] == 10_000
    db.compact()  # default "now" is the newest sample (49s): keeps blocks ending after 24s
    assert [b.mint for b in db.blocks] == [20_000, 30_000]


def test_retention_by_size_drops_oldest_blocks_first(open_db: OpenDB, tmp_path: Path) -> None:
    db = open_db(block_duration_ms=BD, max_block_duration_ms=BD)
    _stream(db, 0, 50_000)
    sizes = [b.size_bytes for b in db.blocks]
    db.close()
    db = open_db(block_duration_ms=BD, max_block_duration_ms=BD, retention_bytes=sizes[-1] + 2 * 1024 * 1024)
    db.compact()
    assert len(db.blocks) == 4  # everything fits
    wal = db.stats().wal_bytes
    db.close()
    db = open_db(block_duration_ms=BD, max_block_duration_ms=BD, retention_bytes=sizes[-1] + wal + 1)
    db.compact()
    assert len(db.blocks) == 1 and db.blocks[0].mint == 30_000
    assert db.stats().bytes_on_disk <= sizes[-1] + wal + 1


def test_stale_nan_survives_wal_head_and_blocks_bit_exactly(open_db: OpenDB) -> None:
    db = open_db(block_duration_ms=BD)
    odd_nan = np.array([0x7FF8000000000123], np.uint64).view(np.float64)[0]
    ts = list(range(0, 30_000, 1000))
    vs = [STALE_NAN if t % 3000 == 0 else (odd_nan if t % 7000 == 0 else t / 7) for t in ts]
    commit(db, up(), ts, vs)
    db.close()
    db = open_db(block_duration_ms=BD)  # via WAL
    db.compact()
    assert db.stats().blocks == 2  # [0,10s) and [10s,20s) in blocks, the rest in the head
    _, t, v = select_all(db).series(0)
    assert t.tolist() == ts
    assert v.view(np.uint64).tolist() == np.asarray(vs).view(np.uint64).tolist()
    assert (v.view(np.uint64) == STALE_NAN_BITS).sum() == 10


def test_block_writer_round_trip_across_aligned_blocks(tmp_path: Path) -> None:
    path = tmp_path / "bf"
    with BlockWriter(path, block_duration_ms=BD) as bw:
        bw.add(up(i="b"), np.array([5000, 6000]), np.array([1.0, 2.0]))
        bw.add(up(i="a"), np.array([1000, 12_000]), np.array([3.0, STALE_NAN]))
        bw.add(up(i="b"), np.array([25_000]), np.array([4.5]))
    metas = [json.loads((d / "meta.json").read_text()) for d in _block_dirs(path)]
    assert sorted((m["minTime"], m["maxTime"]) for m in metas) == [(0, BD), (BD, 2 * BD), (2 * BD, 3 * BD)]
    db = TSDB.open(path, TSDBOptions(block_duration_ms=BD))
    got = select_all(db)
    assert as_dict(got)['up{i="b"}'] == ([5000, 6000, 25_000], [1.0, 2.0, 4.5])
    assert got.series(0)[1].tolist() == [1000, 12_000]
    assert got.series(0)[2].view(np.uint64)[1] == STALE_NAN_BITS
    db.close()


def test_block_writer_sorts_out_of_order_calls_and_keeps_first_duplicate(tmp_path: Path) -> None:
    bw = BlockWriter(tmp_path / "bf", block_duration_ms=BD)
    bw.add(up(), np.array([3000, 4000]), np.array([3.0, 4.0]))
    bw.add(up(), np.array([1000, 3000]), np.array([1.0, 9.0]))
    bw.close()
    db = TSDB.open(tmp_path / "bf", TSDBOptions(block_duration_ms=BD))
    assert as_dict(select_all(db))["up"] == ([1000, 3000, 4000], [1.0, 3.0, 4.0])
    db.close()


def test_backfilled_blocks_overlapping_the_head_are_merged(open_db: OpenDB, tmp_path: Path) -> None:
    path = tmp_path / "data"
    with BlockWriter(path, block_duration_ms=BD) as bw:
        bw.add(up(), np.array([1000, 2000, 3000]), np.array([1.0, 2.0, 3.0]))
    db = open_db(block_duration_ms=BD)
    commit(db, up(), [2000, 2500, 4000], [2.0, 2.5, 4.0])
    assert as_dict(select_all(db))["up"][0] == [1000, 2000, 2500, 3000, 4000]


def test_bytes_per_sample_is_reported_and_compact_for_counters(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    ts = np.arange(0, 7_200_000, 15_000, dtype=np.int64)
    with BlockWriter(tmp_path / "bf") as bw:
        for i in range(50):
            bw.add(up(name__="requests_total", i=str(i)), ts, np.round(np.cumsum(rng.integers(0, 100, len(ts))) * 0.001, 3))
    db = TSDB.open(tmp_path / "bf")
    st = db.stats()
    assert st.block_samples == 50 * len(ts)
    assert 0 < st.bytes_per_sample < 3.0
    assert st.bytes_per_sample == st.block_bytes / st.block_samples
    db.close()


def test_label_queries_cover_blocks_and_head(open_db: OpenDB, tmp_path: Path) -> None:
    path = tmp_path / "data"
    with BlockWriter(path, block_duration_ms=BD) as bw:
        bw.add(up(job="old"), np.array([1000]), np.array([1.0]))
    db = open_db(block_duration_ms=BD)
    commit(db, up(job="new", zone="z"), [50_000], [1.0])
    q = db.querier()
    assert q.label_values("job", [], 0, 10**9) == ["new", "old"]
    assert q.label_values("job", [], 40_000, 10**9) == ["new"]
    assert q.label_names([Matcher.equal("job", "old")], 0, 10**9) == ["__name__", "job"]
    assert q.label_names([], 0, 10**9) == ["__name__", "job", "zone"]
    assert [str(s) for s in q.series([Matcher.equal("__name__", "up")], 0, 10**9)] == ['up{job="new", zone="z"}', 'up{job="old"}']


def test_block_writer_add_batch_maps_ids_to_series(tmp_path: Path) -> None:
    table = [up(i="x"), up(i="y")]
    with BlockWriter(tmp_path / "bf", block_duration_ms=BD) as bw:
        bw.add_batch(table, np.array([1, 0, 1, 0]), np.array([1000, 1000, 2000, 2000]), np.array([1.0, 2.0, 3.0, 4.0]))
        bw.add(up(i="x"), np.array([3000]), np.array([5.0]))
    db = TSDB.open(tmp_path / "bf", TSDBOptions(block_duration_ms=BD))
    assert as_dict(select_all(db)) == {
        'up{i="x"}': ([1000, 2000, 3000], [2.0, 4.0, 5.0]),
        'up{i="y"}': ([1000, 2000], [1.0, 3.0]),
    }
    db.close()


def test_sealed_ranges_of_blocks_are_merged_into_longer_blocks(open_db: OpenDB, tmp_path: Path) -> None:
    db = open_db(block_duration_ms=BD, max_block_duration_ms=3 * BD)
    _stream(db, 0, 70_000)
    before = as_dict(select_all(db))
    assert [(b.mint, b.maxt) for b in db.blocks] == [(0, 30_000), (30_000, 60_000)]
    meta = json.loads((db.blocks[0].path / "meta.json").read_text())
    assert meta["compaction"]["level"] == 2 and len(meta["compaction"]["parents"]) == 3
    assert meta["stats"]["numSamples"] == 90
    assert len(_block_dirs(tmp_path / "data")) == 2
    db.close()
    db = open_db(block_duration_ms=BD, max_block_duration_ms=3 * BD)
    assert as_dict(select_all(db)) == before


def test_an_interrupted_merge_is_finished_on_open(open_db: OpenDB, tmp_path: Path) -> None:
    from sloguard.tsdb._merge import write_merged

    db = open_db(block_duration_ms=BD, max_block_duration_ms=BD)
    _stream(db, 0, 40_000)
    before = as_dict(select_all(db))
    group = db.blocks[:2]
    write_merged(tmp_path / "data", group, 0, 2 * BD)  # crash before the parents were removed
    db.close()
    db = open_db(block_duration_ms=BD, max_block_duration_ms=BD)
    assert [(b.mint, b.maxt) for b in db.blocks] == [(0, 20_000), (20_000, 30_000)]
    assert not any(b.path.exists() for b in group)
    assert as_dict(select_all(db)) == before


def test_reload_blocks_picks_up_a_backfill_into_a_live_tsdb(open_db: OpenDB, tmp_path: Path) -> None:
    db = open_db(block_duration_ms=BD)
    commit(db, up(), [50_000], [5.0])
    with BlockWriter(tmp_path / "data", block_duration_ms=BD) as bw:
        bw.add(up(), np.array([1000, 2000]), np.array([1.0, 2.0]))
    with BlockWriter(tmp_path / "data", block_duration_ms=BD) as bw:  # a second, overlapping import
        bw.add(up(), np.array([2000, 3000]), np.array([9.0, 3.0]))
    assert len(select_all(db).timestamps) == 1
    db.reload_blocks()
    assert as_dict(select_all(db))["up"] == ([1000, 2000, 3000, 50_000], [1.0, 2.0, 3.0, 5.0])
