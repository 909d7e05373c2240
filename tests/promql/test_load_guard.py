"""A select that would load more raw samples than the query may hold is refused before
it loads them (``QueryLimits.check_load``): an instant query over a long range selector
cannot exhaust memory."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from sloguard.labels import Labels, Matcher
from sloguard.promql import EngineOptions, PromQLEngine, PromQLError
from sloguard.promql._value import Sample, Vector
from sloguard.tsdb import TSDB, Storage, TSDBOptions
from sloguard.tsdb.testing import MemoryStorage

SERIES, PER_SERIES, STEP = 100, 2_000, 15_000
END = PER_SERIES * STEP
TOTAL = SERIES * PER_SERIES  # 200,000 samples: 3.2 MB as timestamp + value arrays


def _fill(st: Storage) -> None:
    """In time order, 100 samples of every series per commit (the TSDB cuts blocks)."""
    for ts in np.split(np.arange(0, END, STEP, dtype=np.int64), PER_SERIES // 100):
        app = st.appender()
        for i in range(SERIES):
            app.append_many(Labels.of(name__="mem", i=str(i)), ts, np.full(len(ts), float(i)))
        assert app.commit().rejected_total == 0


@pytest.fixture(scope="module")
def memory() -> MemoryStorage:
    st = MemoryStorage()
    _fill(st)
    return st


@pytest.fixture
def tsdb(tmp_path: Path) -> Iterator[TSDB]:
    db = TSDB.open(tmp_path / "data", TSDBOptions(block_duration_ms=END // 8, max_block_duration_ms=END // 8))
    _fill(db)
    assert db.blocks  # most of the samples are in blocks, the rest in the head
    yield db
    db.close()


def _count(st: Storage, max_samples: int, expr: str = "count_over_time(mem[1y])") -> Vector:
    e = PromQLEngine(st, EngineOptions(max_samples=max_samples, load_floor=0))
    value = e.instant_query(expr, END).value
    assert isinstance(value, list)
    return [s for s in value if isinstance(s, Sample)]


def _refused_peak(st: Storage, expr: str) -> int:
    """Peak traced bytes of a refused query (after one untraced run, so the parser's
    and the evaluator's first-use caches are not counted)."""
    with pytest.raises(PromQLError, match="would load too many samples into memory"):
        _count(st, TOTAL // 10, expr)
    tracemalloc.start()
    try:
        with pytest.raises(PromQLError, match="would load too many samples into memory"):
            _count(st, TOTAL // 10, expr)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


@pytest.mark.parametrize("expr", ["count_over_time(mem[1y])", "rate(mem[1y])", "max_over_time(mem[1y:1h])"])
def test_long_range_instant_query_is_refused_before_it_loads(memory: MemoryStorage, tsdb: TSDB, expr: str) -> None:
    for st in (memory, tsdb):
        assert _refused_peak(st, expr) < TOTAL * 16 // 20  # a twentieth of the samples' arrays


@pytest.mark.parametrize("which", ["memory", "tsdb"])
def test_the_same_query_under_the_limit_answers(memory: MemoryStorage, tsdb: TSDB, which: str) -> None:
    st = memory if which == "memory" else tsdb
    out = _count(st, TOTAL + SERIES)
    assert len(out) == SERIES and {s.v for s in out} == {float(PER_SERIES)}


def test_limit_counts_the_samples_in_the_window_not_in_the_storage(tsdb: TSDB) -> None:
    """A short window over the same data loads few samples and is not refused."""
    out = _count(tsdb, TOTAL // 10, "count_over_time(mem[5m])")
    assert len(out) == SERIES and {s.v for s in out} == {20.0}  # 300 s at 15 s; the newest sample is 15 s before END


def test_loads_under_the_floor_are_left_to_prometheus_thresholds(memory: MemoryStorage) -> None:
    """With the default floor, a small load is judged by Prometheus' streaming count only
    (outputs plus one series' window), as upstream would: no refusal here."""
    e = PromQLEngine(memory, EngineOptions(max_samples=PER_SERIES + 2 * SERIES))
    value = e.instant_query("count_over_time(mem[1y])", END).value
    assert isinstance(value, list) and len(value) == SERIES
    with pytest.raises(PromQLError, match="would load too many samples"):  # without the floor
        _count(memory, PER_SERIES + 2 * SERIES)


class _Spy:
    """A querier counting its estimate lookups; ``bound`` replaces its samples bound."""

    def __init__(self, inner: TSDB, bound: int | None) -> None:
        self._q = inner.querier()
        self._bound = bound
        self.estimates = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self._q, name)

    def samples_bound(self, mint: int, maxt: int) -> int:
        return self._q.samples_bound(mint, maxt) if self._bound is None else self._bound

    def estimate_samples(self, matchers: list[Matcher], mint: int, maxt: int) -> int:
        self.estimates += 1
        return self._q.estimate_samples(matchers, mint, maxt)


def test_estimate_is_looked_up_only_when_the_sources_bound_does_not_fit(tsdb: TSDB) -> None:
    e = PromQLEngine(tsdb, EngineOptions(max_samples=TOTAL // 10, load_floor=0))
    small = _Spy(tsdb, None)  # the store's bound: all TOTAL samples do not fit
    e.instant_query("count_over_time(mem[5m])", END, querier=small)  # type: ignore[arg-type]
    assert small.estimates == 1
    fits = _Spy(tsdb, TOTAL // 20)  # a store as small as that never pays the lookup
    e.instant_query("count_over_time(mem[5m])", END, querier=fits)  # type: ignore[arg-type]
    assert fits.estimates == 0


def test_a_querier_without_estimates_is_checked_after_its_select(memory: MemoryStorage) -> None:
    class Plain:
        def __init__(self) -> None:
            self._q = memory.querier()

        def select(self, *args: object) -> object:
            return self._q.select(*args)  # type: ignore[arg-type]

        def series(self, *args: object) -> object:
            return self._q.series(*args)  # type: ignore[arg-type]

    e = PromQLEngine(memory, EngineOptions(max_samples=TOTAL // 10, load_floor=0))
    with pytest.raises(PromQLError, match="would load too many samples"):
        e.instant_query("count_over_time(mem[1y])", END, querier=Plain())  # type: ignore[arg-type]
    assert len(e.instant_query("count_over_time(mem[5m])", END, querier=Plain()).value) == SERIES  # type: ignore[arg-type]
