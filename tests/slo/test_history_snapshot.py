"""The SLO history reads the raw series once (``_history_snapshot``): its values are exactly
those of the query-per-window computation, on test data in memory and in a TSDB of several
blocks and a head; and a snapshot's select returns what a fresh read of the store returns."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest

from sloguard.ingest.backfill import import_openmetrics
from sloguard.labels import Labels, Matcher
from sloguard.promql.engine import PromQLEngine
from sloguard.slo import history
from sloguard.slo._history_snapshot import SnapshotQuerier
from sloguard.tsdb import TSDB
from tests.slo.test_history import NOW, D, H, M, _slo, _store

MONDAY = int(dt.datetime(2023, 11, 13, tzinfo=dt.UTC).timestamp() * 1000)


class Counting:
    """A storage counting the selects its queriers make."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.selects = inner, 0

    def querier(self) -> Any:
        outer, q = self, self.inner.querier()

        class Q:
            def __getattr__(self, name: str) -> Any:
                return getattr(q, name)

            def select(self, *args: Any) -> Any:
                outer.selects += 1
                return q.select(*args)

        return Q()


def _both(monkeypatch: pytest.MonkeyPatch, storage: Any, slo: Any, start: int, end: int, step: int) -> tuple[Any, Any, Counting]:
    counting = Counting(storage)
    shared = history.compute(PromQLEngine(counting), slo, start, end, step)  # type: ignore[arg-type]
    with monkeypatch.context() as m:
        m.setattr(history, "snapshot_engine", lambda engine, mint, maxt: engine)
        alone = history.compute(PromQLEngine(storage), slo, start, end, step)
    return shared, alone, counting


def _assert_same(a: history.History, b: history.History) -> None:
    np.testing.assert_array_equal(a.steps, b.steps)
    assert [s.labels for s in a.series] == [s.labels for s in b.series] and a.series
    for x, y in zip(a.series, b.series, strict=True):
        for field in ("sli", "budget_remaining", "coverage"):
            np.testing.assert_array_equal(getattr(x, field), getattr(y, field), err_msg=field)
        assert x.burn_rates.keys() == y.burn_rates.keys()
        for w in x.burn_rates:
            np.testing.assert_array_equal(x.burn_rates[w], y.burn_rates[w], err_msg=f"burn {w}")
    assert np.isfinite(a.series[0].sli).sum() > len(a.steps) // 2  # there is something to compare


@pytest.mark.parametrize(("period", "extra", "start", "end", "step"), [
    ("1d", "", NOW - 6 * H, NOW, 10 * M),
    ("{calendar: week, timezone: UTC}", "", MONDAY - 6 * H, MONDAY + 18 * H, 30 * M),
    ("2h", "    budgeting: {timeslices: {target: 0.99, slice: 1m}}", NOW - 3 * H, NOW, 15 * M),
], ids=["rolling", "calendar", "timeslices"])
def test_one_read_gives_the_values_of_a_read_per_query(monkeypatch: pytest.MonkeyPatch, period: str, extra: str,
                                                       start: int, end: int, step: int) -> None:
    st = _store(min(start, MONDAY) - 4 * D, max(end, NOW), late_start=start - 3 * H)
    shared, alone, counting = _both(monkeypatch, st, _slo(period, extra), start, end, step)
    _assert_same(shared, alone)
    assert counting.selects <= 3  # the bad and total selectors, once each (and at most one outside)


def _openmetrics(start_s: int, end_s: int) -> str:
    lines = ["# TYPE req counter"]
    for route, rps in (("a", 30.0), ("b", 7.0)):
        ok = bad = 0.0
        for code in ("200", "500"):
            ok = bad = 0.0
            for t in range(start_s, end_s + 1, 60):
                share = 0.004 + (0.05 if (t // 3600) % 7 == 0 else 0.0)
                ok += rps * 60 * (1 - share)
                bad += rps * 60 * share
                lines.append(f'req_total{{route="{route}",code="{code}"}} {ok if code == "200" else bad:.0f} {t}')
    return "\n".join(lines) + "\n# EOF\n"


@pytest.fixture(scope="module")
def blocks_db(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("hist")
    (root / "r.om").write_text(_openmetrics((NOW - 3 * D) // 1000, (NOW - H) // 1000))
    import_openmetrics(root / "r.om", root / "data")  # two-hour blocks
    db = TSDB.open(root / "data")
    app = db.appender()  # and the last hour in the head
    for route, code in (("a", "200"), ("a", "500"), ("b", "200"), ("b", "500")):
        ts = np.arange(NOW - H + M, NOW + 1, M, dtype=np.int64)
        app.append_many(Labels.of(name__="req_total", route=route, code=code), ts, 1e6 + np.arange(len(ts)) * 40.0)
    app.commit()
    yield db
    db.close()


def test_one_read_equals_a_read_per_query_over_blocks_and_the_head(monkeypatch: pytest.MonkeyPatch, blocks_db: Any) -> None:
    shared, alone, counting = _both(monkeypatch, blocks_db, _slo("1d"), NOW - 26 * H, NOW, 20 * M)
    _assert_same(shared, alone)
    assert counting.selects <= 3


def test_a_snapshot_select_returns_what_a_fresh_read_returns(blocks_db: Any) -> None:
    rng = np.random.default_rng(7)
    lo, hi = NOW - 2 * D, NOW
    snap = SnapshotQuerier(blocks_db.querier(), lo, hi)
    matchers = [Matcher.equal("__name__", "req_total"), Matcher.equal("code", "500")]
    for _ in range(20):
        a, b = sorted(int(x) for x in rng.integers(lo, hi, 2))
        if rng.random() < 0.3:
            a = b  # one instant (an empty window for most)
        got, want = snap.select(matchers, a, b), blocks_db.querier().select(matchers, a, b)
        assert [ls for ls, _, _ in (got.series(i) for i in range(len(got)))] == \
               [ls for ls, t, _ in (want.series(i) for i in range(len(want))) if len(t)]
        nonempty = [i for i in range(len(want)) if len(want.series(i)[1])]
        for j, i in enumerate(nonempty):
            np.testing.assert_array_equal(got.series(j)[1], want.series(i)[1])
            np.testing.assert_array_equal(got.series(j)[2], want.series(i)[2])
    assert snap.reads == 1
    outside = snap.select(matchers, lo - H, hi)  # before the snapshot: read from the store
    assert len(outside.timestamps) == len(blocks_db.querier().select(matchers, lo - H, hi).timestamps)
    assert snap.reads == 1


@pytest.mark.parametrize(("period", "extra", "at"), [
    ("1d", "", NOW),
    ("{calendar: week, timezone: UTC}", "", MONDAY + 18 * H),
    ("2h", "    budgeting: {timeslices: {target: 0.99, slice: 1m}}", NOW),
], ids=["rolling", "calendar", "timeslices"])
def test_a_budget_through_one_read_equals_the_budget_of_a_read_per_query(
        monkeypatch: pytest.MonkeyPatch, period: str, extra: str, at: int) -> None:
    from sloguard.slo import budget

    st = _store(MONDAY - 4 * D, max(at, NOW), late_start=at - 3 * H)
    counting, slo = Counting(st), _slo(period, extra)
    shared = budget.compute(PromQLEngine(counting), slo, at)  # type: ignore[arg-type]
    with monkeypatch.context() as m:
        m.setattr(budget, "snapshot_engine", lambda engine, mint, maxt: engine)
        alone = budget.compute(PromQLEngine(st), slo, at)
    assert shared == alone and len(shared) == 2 and shared[0].sli is not None
    assert counting.selects <= 3
