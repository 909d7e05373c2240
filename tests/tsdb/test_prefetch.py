"""``TSDB.prefetch``: many selects' block series gathered with one decode per frame; the
selects after it return exactly what they return without it, and decode nothing more."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from sloguard.labels import Labels, Matcher
from sloguard.tsdb import TSDB, BlockWriter, SeriesBatch, TSDBOptions, _blockwrite

HOUR = 3_600_000
SERVICES = 20


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two 1 h blocks of 200 series (code x instance x service, so one service's series
    lie in many frames and each frame holds series of every service), frames of 8,192 samples."""
    path = Path(tmp_path_factory.mktemp("prefetch")) / "d"
    rng = np.random.default_rng(3)
    mp = pytest.MonkeyPatch()
    mp.setattr(_blockwrite, "FRAME_SAMPLES", 8192)
    try:
        with BlockWriter(path, block_duration_ms=HOUR) as bw:
            for code in ("200", "500"):
                for inst in range(5):
                    for svc in range(SERVICES):
                        ls = Labels.of(name__="req", code=code, instance=f"i-{inst}", service=f"svc-{svc}")
                        ts = np.arange(0, 2 * HOUR, 15_000, dtype=np.int64) + int(rng.integers(0, 15_000))
                        bw.add(ls, ts, np.cumsum(rng.random(len(ts))))
    finally:
        mp.undo()
    return path


@pytest.fixture
def db(store: Path, tmp_path: Path) -> Iterator[TSDB]:
    path = tmp_path / "d"
    shutil.copytree(store, path)
    out = TSDB.open(path, TSDBOptions(decoded_cache_bytes=64 << 20))
    yield out
    out.close()


def _selects() -> list[tuple[list[Matcher], int, int]]:
    out = []
    for svc in range(SERVICES):
        s = Matcher.equal("service", f"svc-{svc}")
        out.append(([Matcher.equal("__name__", "req"), s], 0, 2 * HOUR))
        out.append(([Matcher.equal("__name__", "req"), s, Matcher.equal("code", "500")], HOUR // 2, 2 * HOUR))
    return out


def _same(a: SeriesBatch, b: SeriesBatch) -> None:
    assert a.labels == b.labels
    assert np.array_equal(a.offsets, b.offsets)
    assert np.array_equal(a.timestamps, b.timestamps)
    assert np.array_equal(a.values, b.values)


def test_selects_after_a_prefetch_equal_selects_without_and_decode_nothing(
    db: TSDB, store: Path, tmp_path: Path, decodes: list[tuple[str, int]]
) -> None:
    plain_path = tmp_path / "plain"
    shutil.copytree(store, plain_path)
    with TSDB.open(plain_path) as plain:
        want = [plain.querier().select(m, lo, hi) for m, lo, hi in _selects()]
    decodes.clear()
    assert db.prefetch(_selects()) == len(_selects())
    n_frames = sum(len(b.frames) for b in db.blocks)
    assert len(decodes) == len(set(decodes)) == n_frames  # every frame once: all services read all of them
    decodes.clear()
    q = db.querier()
    for (m, lo, hi), w in zip(_selects(), want, strict=True):
        _same(q.select(m, lo, hi), w)
    assert decodes == []


def test_one_select_at_a_time_decodes_each_frame_once_per_service(db: TSDB, decodes: list[tuple[str, int]]) -> None:
    """What the prefetch saves: with a cache too small for the frames, every service's
    select decodes the frames again."""
    db.cache.max_bytes = 1 << 19
    for m, lo, hi in _selects()[::2]:
        db.querier().select(m, lo, hi)
    n_frames = sum(len(b.frames) for b in db.blocks)
    assert len(set(decodes)) == n_frames
    assert len(decodes) >= SERVICES * n_frames // 2


def test_prefetch_stops_at_half_the_cache_and_says_how_far_it_got(db: TSDB, decodes: list[tuple[str, int]]) -> None:
    one_service = 24 * 2 * 10 * 240  # bytes per sample x blocks x series x samples per block
    db.cache.max_bytes = 2 * 3 * one_service + 1000  # half of it holds three services' series
    n = db.prefetch(_selects()[::2])
    assert n == 3
    decodes.clear()
    q = db.querier()
    for m, lo, hi in _selects()[:6:2]:
        q.select(m, lo, hi)
    assert decodes == []
    assert db.prefetch([]) == 0
