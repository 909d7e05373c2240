"""``estimate_samples``: the samples a select would load, from metadata (no frame decoded)."""

from __future__ import annotations

import pytest

from sloguard.labels import Matcher
from sloguard.tsdb import TSDB, SharedSelects
from sloguard.tsdb.testing import MemoryStorage

from .conftest import OpenDB, up

BD = 10_000
UP = [Matcher.equal("__name__", "up")]
ONE = [*UP, Matcher.equal("i", "1")]


def _stream(db: TSDB, start: int, end: int, step: int = 1000, series: int = 3) -> None:
    for t in range(start, end, step):
        app = db.appender()
        for s in range(series):
            app.append(up(i=str(s)), t, float(t))
        assert app.commit().rejected_total == 0


def _real(db: TSDB, matchers: list[Matcher], mint: int, maxt: int) -> int:
    return len(db.querier().select(matchers, mint, maxt).timestamps)


@pytest.fixture
def db(open_db: OpenDB) -> TSDB:
    """Three series at 1 s over 0..40 s: blocks [0,10s), [10s,20s), [20s,30s) and a head."""
    d = open_db(block_duration_ms=BD, max_block_duration_ms=BD)
    _stream(d, 0, 36_000)
    with d.head.lock:
        d.head.fold()  # part of the head frozen (per-series offsets), part in its tail
    _stream(d, 36_000, 41_000)
    assert len(d.blocks) >= 2 and len(d.head.f_t) and d.head.n_tail
    return d


@pytest.mark.parametrize("matchers", [UP, ONE], ids=["all", "one"])
@pytest.mark.parametrize(("mint", "maxt"), [(-(2**62), 2**62), (0, 40_000), (10_000, 19_999), (20_000, 40_000)])
def test_windows_covering_whole_sources_are_estimated_exactly(db: TSDB, matchers: list[Matcher], mint: int, maxt: int) -> None:
    assert db.querier().estimate_samples(matchers, mint, maxt) == _real(db, matchers, mint, maxt)


@pytest.mark.parametrize(("mint", "maxt"), [(5_500, 25_300), (12_000, 13_000), (27_000, 38_000), (0, 0)])
def test_windows_cutting_sources_are_estimated_within_a_sample_per_series_and_source(db: TSDB, mint: int, maxt: int) -> None:
    q = db.querier()
    for matchers, series in ((UP, 3), (ONE, 1)):
        real = _real(db, matchers, mint, maxt)
        sources = 2 + len(db.blocks)
        assert abs(q.estimate_samples(matchers, mint, maxt) - real) <= series * sources, (matchers, real)


def test_a_head_never_folded_is_estimated_from_its_tail(open_db: OpenDB) -> None:
    d = open_db()
    _stream(d, 0, 20_000)
    assert not len(d.head.f_t)
    q = d.querier()
    assert q.estimate_samples(UP, 0, 2**62) == _real(d, UP, 0, 2**62) == 60
    assert q.estimate_samples(ONE, 5_000, 14_000) == _real(d, ONE, 5_000, 14_000) == 10


def test_no_matching_series_or_window_past_the_data_estimates_nothing(db: TSDB) -> None:
    q = db.querier()
    assert q.estimate_samples([Matcher.equal("__name__", "none")], 0, 40_000) == 0
    assert q.estimate_samples(UP, 50_000, 60_000) == 0


def test_estimate_sees_the_querier_snapshot_not_later_appends(db: TSDB) -> None:
    q = db.querier()
    before = q.estimate_samples(UP, 0, 2**62)
    _stream(db, 41_000, 45_000)
    assert q.estimate_samples(UP, 0, 2**62) == before == len(q.select(UP, 0, 2**62).timestamps)
    assert db.querier().estimate_samples(UP, 0, 2**62) == before + 12


def test_shared_selects_estimates_only_what_it_would_load(db: TSDB) -> None:
    shared = SharedSelects(db.querier(), {})
    assert shared.estimate_samples(UP, 30_000, 40_000) == _real(db, UP, 30_000, 40_000)
    shared.select(UP, 30_000, 40_000)
    assert shared.estimate_samples(UP, 35_000, 40_000) == 0  # answered by the batch it holds
    assert shared.estimate_samples(UP, 20_000, 40_000) == _real(db, UP, 20_000, 40_000)


def test_memory_storage_estimate_is_exact_and_unknown_inner_queriers_say_so() -> None:
    st = MemoryStorage()
    st.add(up(i="1"), [1000, 2000, 3000], [1.0, 2.0, 3.0])
    st.add(up(i="2"), [2000, 4000], [1.0, 2.0])
    q = st.querier()
    assert q.estimate_samples(UP, 2000, 3000) == len(q.select(UP, 2000, 3000).timestamps) == 3

    class Bare:  # a querier with no estimate of its own
        def select(self, *a: object) -> object:
            raise AssertionError

    assert SharedSelects(Bare(), {}).estimate_samples(UP, 0, 5000) == -1  # type: ignore[arg-type]


@pytest.mark.parametrize(("mint", "maxt"), [(-(2**62), 2**62), (5_500, 25_300), (35_000, 40_000), (50_000, 60_000)])
def test_samples_bound_is_at_least_every_select_over_the_window(db: TSDB, mint: int, maxt: int) -> None:
    q = db.querier()
    bound = q.samples_bound(mint, maxt)
    assert bound >= _real(db, UP, mint, maxt)
    assert bound <= db.stats().head_samples + sum(b.num_samples for b in db.blocks)
    assert SharedSelects(q, {}).samples_bound(mint, maxt) == bound
