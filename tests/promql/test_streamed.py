"""Range functions streamed over pieces of whole series (``promql._streamed``) give the
same results, errors and sample peaks as the whole-select evaluation they replace.

The data is random: irregular sampling, NaN values, staleness markers, counter resets,
gaps longer than the ranges (empty windows), series that start and stop, two metric
names whose series collide once the name is dropped; partly in blocks, partly in the
head. Pieces are made tiny, so every query runs over many of them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from sloguard.labels import Labels
from sloguard.promql import EngineOptions, PromQLEngine, PromQLError, _streamed
from sloguard.promql._value import Series
from sloguard.tsdb import STALE_NAN, TSDB, TSDBOptions
from sloguard.tsdb.testing import MemoryStorage

from .test_differential_cases import generate_series
from .test_engine_samples import PEAKS, START, T

HOUR = 3_600_000
END = 6 * HOUR
FUNCS = [
    "rate", "increase", "delta", "irate", "idelta", "deriv", "resets", "changes",
    "count_over_time", "present_over_time", "last_over_time", "max_over_time", "min_over_time",
    "sum_over_time", "avg_over_time", "stdvar_over_time", "stddev_over_time",
]
CALLS = [f"{f}(m[{r}])" for f in FUNCS for r in ("1m", "7m")] + [
    "quantile_over_time(0.3, m[10m])", "predict_linear(m[10m], 600)", "holt_winters(m[10m], 0.4, 0.6)",
    "sum by (k) (rate(m[5m]))", "avg_over_time(sum by (k) (rate(m[3m]))[20m:2m])",
    "max_over_time(m[5m] offset 7m)", "rate(m[5m] @ 10000)", "absent_over_time(nothing[5m])",
    "rate({__name__=~'m|other'}[5m])", "last_over_time({__name__=~'m|other'}[5m])",
    "rate({__name__=~'m|apart'}[5m])",
]


def _series(rng: np.random.Generator, name: str, i: int, counter: bool) -> tuple[Labels, np.ndarray, np.ndarray]:
    start = int(rng.integers(0, END // 3))
    stop = int(rng.integers(2 * END // 3, END))
    ts = np.unique(rng.integers(start, stop, int(rng.integers(5, 400))))
    if rng.random() < 0.5:  # a gap longer than every range
        cut = int(rng.integers(0, len(ts)))
        ts = np.concatenate([ts[:cut], ts[cut:] + 30 * 60_000])
        ts = ts[ts < END]
    vs = np.cumsum(rng.exponential(3.0, len(ts))) if counter else rng.normal(0, 5, len(ts))
    if counter:
        for r in rng.integers(0, len(ts), 2):  # counter resets
            vs[r:] -= vs[r] * rng.random()
    vs[rng.random(len(ts)) < 0.03] = math.nan
    vs[rng.random(len(ts)) < 0.02] = STALE_NAN
    return Labels.of(name__=name, k=str(i % 3), i=str(i)), ts.astype(np.int64), vs


def _data() -> list[tuple[Labels, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(13)
    out = [_series(rng, "m", i, i % 2 == 0) for i in range(40)]
    out += [_series(rng, "other", i, True) for i in range(0, 40, 9)]  # collides with m once names drop
    out += [_series(rng, "apart", 1000 + i, True) for i in range(3)]
    return out


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TSDB, MemoryStorage]]:
    path = Path(tmp_path_factory.mktemp("streamed")) / "data"
    db = TSDB.open(path, TSDBOptions(block_duration_ms=HOUR, max_block_duration_ms=HOUR))
    mem = MemoryStorage()
    data = _data()
    for lo in range(0, END, HOUR // 2):  # in time order, so the TSDB cuts blocks
        app = db.appender()
        for ls, ts, vs in data:
            w = (ts >= lo) & (ts < lo + HOUR // 2)
            if w.any():
                app.append_many(ls, ts[w], vs[w])
        assert app.commit().rejected_total == 0
    for ls, ts, vs in data:
        mem.add(ls, ts.tolist(), vs.tolist())
    db.compact(END)
    assert db.blocks
    yield db, mem
    db.close()


@pytest.fixture(autouse=True)
def tiny_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_streamed, "PIECE_SAMPLES", 37)
    monkeypatch.setattr(_streamed, "SLICE_CELLS", 50)  # a few series per slice: slices joined in order


def _run(st: object, expr: str, **opts: int) -> list[Series] | str:
    e = PromQLEngine(st, EngineOptions(**opts))  # type: ignore[arg-type]
    try:
        value = e.range_query(expr, 0, END, 60_000).value
    except PromQLError as err:
        return str(err)
    assert isinstance(value, list)
    return [s for s in value if isinstance(s, Series)]


def _same(a: list[Series] | str, b: list[Series] | str) -> None:
    if isinstance(a, str) or isinstance(b, str):
        assert a == b
        return
    assert [s.labels for s in a] == [s.labels for s in b]
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.timestamps, y.timestamps)
        np.testing.assert_array_equal(x.values, y.values)  # bit for bit; NaN equals NaN


@pytest.mark.parametrize("expr", CALLS)
def test_streamed_equals_whole_select(stores: tuple[TSDB, MemoryStorage], expr: str) -> None:
    db, mem = stores
    streamed = _run(db, expr)
    _same(streamed, _run(mem, expr))
    assert isinstance(streamed, str) or streamed or "nothing" in expr


def test_the_random_data_has_what_the_cases_need(stores: tuple[TSDB, MemoryStorage]) -> None:
    """Some windows are empty, some hold resets, and the colliding names do collide."""
    db, _ = stores
    assert "same labelset" in str(_run(db, "rate({__name__=~'m|other'}[5m])"))
    counts = _run(db, "count_over_time(m[1m])")
    resets = _run(db, "resets(m[7m])")
    assert isinstance(counts, list) and isinstance(resets, list)
    assert sum(len(s.values) for s in counts) < 40 * (END // 60_000)  # empty windows
    assert any((s.values > 0).any() for s in resets)


def test_streamed_equals_whole_select_in_chunks_of_steps(stores: tuple[TSDB, MemoryStorage]) -> None:
    db, mem = stores
    for expr in ("sum by (k) (rate(m[5m]))", "avg_over_time(max_over_time(m[3m])[20m:2m])"):
        _same(_run(db, expr, chunk_cells=200), _run(mem, expr, chunk_cells=200))


@pytest.fixture(scope="module")
def diff_tsdb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TSDB]:
    db = TSDB.open(Path(tmp_path_factory.mktemp("peaks")) / "data")
    app = db.appender()
    for s in generate_series():
        app.append_many(Labels(s.labels.items()), np.asarray([t for t, _ in s.samples], np.int64),
                        np.asarray([v for _, v in s.samples], np.float64))
    assert app.commit().rejected_total == 0
    yield db
    db.close()


@pytest.mark.parametrize(("kind", "expr", "peak"), [p for p in PEAKS if "[" in p[1]])
def test_streamed_peaks_are_prometheus(diff_tsdb: TSDB, kind: str, expr: str, peak: int) -> None:
    """The sample peaks Prometheus 2.42 reported: the query passes at the peak and fails
    one below it, with the range functions streamed."""
    def run(limit: int) -> None:
        e = PromQLEngine(diff_tsdb, EngineOptions(max_samples=limit))
        if kind == "i":
            e.instant_query(expr, T)
        else:
            e.range_query(expr, START, T, 60_000)

    run(peak)
    with pytest.raises(PromQLError, match="query processing would load too many samples"):
        run(peak - 1)
