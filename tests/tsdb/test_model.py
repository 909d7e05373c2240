"""The TSDB against the simple in-memory model (``tsdb.testing.MemoryStorage``).

Random commits (with out-of-order and duplicate samples), compactions, reopenings and
backfilled blocks; every read must equal the model's, bit for bit.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sloguard.labels import Labels, Matcher, MatchType
from sloguard.tsdb import STALE_NAN, TSDB, SeriesBatch, TSDBOptions, _stream
from sloguard.tsdb.testing import MemoryStorage

BD = 10_000
OPTS = TSDBOptions(block_duration_ms=BD, retention_ms=0)


def _series(rng: random.Random) -> Labels:
    return Labels.of(name__=rng.choice(["a", "b"]), job=rng.choice(["x", "y", ""]), i=str(rng.randrange(6)))


def _value(rng: random.Random) -> float:
    # no plain NaN or -0.0: the model compares values with ==, the TSDB (like Prometheus) by bits
    return rng.choice([STALE_NAN, rng.randrange(1, 100) / 4, rng.random()])


def _same(got: SeriesBatch, want: SeriesBatch) -> None:
    assert [str(x) for x in got.labels] == [str(x) for x in want.labels]
    assert got.offsets.tolist() == want.offsets.tolist()
    assert got.timestamps.tolist() == want.timestamps.tolist()
    assert got.values.view(np.uint64).tolist() == want.values.view(np.uint64).tolist()


def _count_streamed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Make every select with blocks stream them; count the blocks copied that way."""
    monkeypatch.setattr(_stream, "STREAM_MIN_SAMPLES", 0)
    count, copy = [0], _stream._copy_block

    def counted(*a: Any) -> None:
        count[0] += 1
        copy(*a)

    monkeypatch.setattr(_stream, "_copy_block", counted)
    return count


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("seed", range(6))
def test_random_workload_reads_like_the_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int, stream: bool
) -> None:
    """``stream``: every select with blocks copies them frame by frame (see ``_stream``)."""
    streamed = _count_streamed(monkeypatch) if stream else [1]
    rng = random.Random(seed)
    model = MemoryStorage()
    db = TSDB.open(tmp_path, OPTS)
    clock = 0
    for step in range(40):
        app, mapp = db.appender(), model.appender()
        for _ in range(rng.randrange(1, 30)):
            ls = _series(rng)
            t = clock + rng.randrange(-3, 4) * 250  # some out of order, some duplicates
            v = _value(rng)
            app.append(ls, t, v)
            mapp.append(ls, t, v)
        got, want = app.commit(), mapp.commit()
        assert (got.appended, got.rejected) == (want.appended, want.rejected)
        clock += rng.randrange(0, 1500)
        if step % 13 == 12:
            db.close()
            db = TSDB.open(tmp_path, OPTS)
    assert db.stats().blocks >= 2  # the workload spans several blocks
    q, mq = db.querier(), model.querier()
    selectors = [
        [Matcher.equal("__name__", "a")],
        [Matcher(MatchType.REGEX, "__name__", "a|b"), Matcher.equal("job", "")],
        [Matcher(MatchType.NOT_REGEX, "i", "[0-2]"), Matcher(MatchType.REGEX, "__name__", ".+")],
        [Matcher(MatchType.NOT_EQUAL, "job", "x"), Matcher.equal("__name__", "b")],
    ]
    for ms in selectors:
        for _ in range(4):
            lo = rng.randrange(-1000, clock)
            hi = lo + rng.randrange(0, clock)
            _same(q.select(ms, lo, hi), mq.select(ms, lo, hi))
            # like Prometheus, series() works at block/chunk granularity: a series whose
            # samples surround the range counts, so it may list more than select()
            assert set(mq.series(ms, lo, hi)) <= set(q.series(ms, lo, hi))
    assert streamed[0] > 0
    db.close()


@pytest.mark.parametrize("seed", range(3))
def test_reads_between_commits_see_the_head_tail(tmp_path: Path, seed: int) -> None:
    """Selects interleaved with small commits read the unfolded head tail (found through
    per-series chains, or by a scan once a chain is long) exactly like the model."""
    rng = random.Random(seed)
    model = MemoryStorage()
    db = TSDB.open(tmp_path, TSDBOptions(block_duration_ms=10**9, retention_ms=0))
    hot = Labels.of(name__="a", job="x", i="hot")  # gets a sample every commit: a long chain
    selectors = [
        [Matcher.equal("__name__", "a")],
        [Matcher.equal("i", "hot")],
        [Matcher.equal("job", "y"), Matcher(MatchType.REGEX, "i", "[0-3]")],
    ]
    for step in range(120):
        app, mapp = db.appender(), model.appender()
        batch = [(hot, step * 1000)] + [(_series(rng), step * 1000 + rng.randrange(0, 900)) for _ in range(rng.randrange(0, 5))]
        for ls, t in batch:
            v = _value(rng)
            app.append(ls, t, v)
            mapp.append(ls, t, v)
        app.commit()
        mapp.commit()
        ms = rng.choice(selectors)
        lo = rng.randrange(0, step * 1000 + 1)
        q, mq = db.querier(), model.querier()  # a querier reads the head as of its creation
        _same(q.select(ms, lo, step * 1000 + 999), mq.select(ms, lo, step * 1000 + 999))
    db.close()


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("seed", range(3))
def test_reads_of_series_spread_over_frames(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int, stream: bool
) -> None:
    """With tiny frames, a selector's series lie in many frames of a block; the copy of
    them gathered on first read (and cached) must read like the model on every window."""
    from sloguard.tsdb import _blockwrite

    monkeypatch.setattr(_blockwrite, "FRAME_SAMPLES", 16)  # the writer cuts frames
    streamed = _count_streamed(monkeypatch) if stream else [1]
    rng = random.Random(seed)
    model = MemoryStorage()
    db = TSDB.open(tmp_path, OPTS)
    for step in range(60):
        app, mapp = db.appender(), model.appender()
        for i in range(12):
            ls = Labels.of(name__=rng.choice(["a", "b"]), job=rng.choice(["x", "y"]), i=str(i))
            t, v = step * 400 + rng.randrange(0, 400), _value(rng)
            app.append(ls, t, v)
            mapp.append(ls, t, v)
        app.commit()
        mapp.commit()
    db.compact()
    assert db.stats().blocks >= 1
    assert max(len(b.frames) for b in db.blocks) > 4
    q, mq = db.querier(), model.querier()
    for _ in range(40):
        ms = rng.choice([[Matcher.equal("job", "x")], [Matcher.equal("__name__", "b")],
                         [Matcher(MatchType.REGEX, "i", "1.*|3")]])
        lo = rng.choice([rng.randrange(-500, 24_000), -500])  # some cover whole blocks
        hi = lo + rng.choice([rng.randrange(0, 12_000), 10**6])
        _same(q.select(ms, lo, hi), mq.select(ms, lo, hi))
    assert streamed[0] > 0
    db.close()
