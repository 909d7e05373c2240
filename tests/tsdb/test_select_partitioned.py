"""``select_partitioned``: its pieces, put together, are ``select``'s batch (blocks and
head, series that start late or stop early, windows of any size and place)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sloguard.labels import Labels, Matcher
from sloguard.tsdb import TSDB, SeriesBatch, TSDBOptions

HOUR = 3_600_000
END = 5 * HOUR


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> TSDB:
    rng = np.random.default_rng(7)
    data = []
    names = rng.permutation(30)  # series refs (creation order) are not in label order
    for i in names.tolist():
        a, b = sorted(rng.integers(0, END, 2).tolist())
        ts = np.unique(rng.integers(a, b + 1, int(rng.integers(1, 300)))).astype(np.int64)
        data.append((Labels.of(name__="x", i=f"{i:02d}", g=str(i % 4)), ts, rng.normal(size=len(ts))))
    out = TSDB.open(Path(tmp_path_factory.mktemp("part")) / "d", TSDBOptions(block_duration_ms=HOUR, max_block_duration_ms=HOUR))
    for lo in range(0, END, HOUR // 4):
        app = out.appender()
        for ls, ts, vs in data:
            w = (ts >= lo) & (ts < lo + HOUR // 4)
            if w.any():
                app.append_many(ls, ts[w], vs[w])
        assert app.commit().rejected_total == 0
    out.compact(END)
    assert out.blocks and max(b.maxt for b in out.blocks) < END  # the newest samples stay in the head
    return out


def _joined(pieces: list[SeriesBatch]) -> tuple[list[Labels], np.ndarray, np.ndarray, np.ndarray]:
    labels = [ls for p in pieces for ls in p.labels]
    counts = np.concatenate([np.diff(p.offsets) for p in pieces]) if pieces else np.zeros(0, np.int64)
    offsets = np.concatenate(([0], np.cumsum(counts)))
    t = np.concatenate([p.timestamps for p in pieces]) if pieces else np.zeros(0, np.int64)
    v = np.concatenate([p.values for p in pieces]) if pieces else np.zeros(0)
    return labels, offsets, t, v


@pytest.mark.parametrize("size", [1, 40, 400, 10**9])
def test_pieces_put_together_are_the_select(db: TSDB, size: int) -> None:
    q = db.querier()
    rng = np.random.default_rng(size)
    for matchers in ([Matcher.equal("__name__", "x")], [Matcher.equal("g", "1")]):
        for _ in range(25):
            lo = int(rng.integers(-HOUR, END))
            hi = lo + int(rng.choice([60_000, HOUR // 3, 2 * HOUR, 10 * HOUR]))
            whole = q.select(matchers, lo, hi)
            pieces = list(q.select_partitioned(matchers, lo, hi, size))
            labels, offsets, t, v = _joined(pieces)
            assert labels == whole.labels
            np.testing.assert_array_equal(offsets, whole.offsets)
            np.testing.assert_array_equal(t, whole.timestamps)
            np.testing.assert_array_equal(v, whole.values)


def test_pieces_hold_about_the_samples_asked(db: TSDB) -> None:
    q = db.querier()
    pieces = list(q.select_partitioned([Matcher.equal("__name__", "x")], 0, END, 500))
    assert len(pieces) > 3
    # sized by the blocks' counts (the head's few samples per series are not counted)
    assert all(len(p.timestamps) <= 2 * 500 or len(p.labels) == 1 for p in pieces), [len(p.timestamps) for p in pieces]
