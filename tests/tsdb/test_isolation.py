"""Query isolation: a querier reads the TSDB as of its creation (Prometheus' head isolation).

Samples and series committed after a querier was made are invisible to all its selects,
whatever happens meanwhile to the head (tail growth, folds, compaction into blocks, block
merges); and ``count(x) - count(x)`` is 0 while writers keep adding series.
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sloguard.labels import Labels, Matcher, MatchType
from sloguard.promql import PromQLEngine
from sloguard.tsdb import TSDB, FsyncPolicy, Querier, SharedSelects, TSDBOptions

BD = 10_000
POOL = [Labels.of(name__=n, i=str(i)) for n in ("a", "b") for i in range(5)]
ALL = [Matcher(MatchType.REGEX, "__name__", ".+")]
Model = dict[Labels, list[tuple[int, float]]]


def _expected(model: Model, matchers: list[Matcher], mint: int, maxt: int) -> dict[str, list[tuple[int, float]]]:
    out = {}
    for ls, samples in model.items():
        if all(m.matches(ls.get(m.name)) for m in matchers):
            got = [(t, v) for t, v in samples if mint <= t <= maxt]
            if got:
                out[str(ls)] = got
    return out


def _read(q: Querier, matchers: list[Matcher], mint: int, maxt: int) -> dict[str, list[tuple[int, float]]]:
    b = q.select(matchers, mint, maxt)
    return {str(b.labels[i]): list(zip(*(x.tolist() for x in b.series(i)[1:]), strict=True)) for i in range(len(b))}


_MATCHERS = {"all": ALL, "a": [Matcher.equal("__name__", "a")], "i=1": [Matcher.equal("i", "1")]}
# (kind, series picked, samples per series, querier number, window low and high quarter, selector)
Op = tuple[str, list[int], int, int, int, int, str]
_op = st.tuples(
    st.sampled_from(["commit", "commit", "commit", "select", "select", "querier", "fold", "compact"]),
    st.lists(st.integers(0, len(POOL) - 1), min_size=1, max_size=6), st.integers(1, 3),
    st.integers(0, 50), st.integers(0, 3), st.integers(0, 3), st.sampled_from(sorted(_MATCHERS)),
)


def _commit(db: TSDB, model: Model, clock: int, picks: list[int], per: int) -> int:
    app = db.appender()
    for _ in range(per):
        clock += 1 + 2999 * (clock % 5 == 0)  # now and then a gap, so the head spans blocks
        for p in sorted(set(picks)):
            v = float(clock * 10 + p)
            app.append(POOL[p], clock, v)
            model.setdefault(POOL[p], []).append((clock, v))
    res = app.commit()
    assert not res.rejected, res.rejected
    return clock


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_op, min_size=15, max_size=40))
def test_each_querier_sees_exactly_what_was_committed_before_it(ops: list[Op]) -> None:
    with tempfile.TemporaryDirectory() as d:
        db = TSDB.open(Path(d), TSDBOptions(block_duration_ms=BD, retention_ms=0, fsync=FsyncPolicy.NEVER))
        model: Model = {}
        clock = 0
        queriers: list[tuple[Querier, Model]] = []
        for kind, picks, per, qi, lo, hi, name in ops:
            if kind == "commit":
                clock = _commit(db, model, clock, picks, per)
            elif kind == "querier":
                queriers.append((db.querier(), {ls: list(s) for ls, s in model.items()}))
            elif kind == "fold":
                with db.head.lock:
                    db.head.fold()
            elif kind == "compact":
                db.compact()
            elif queriers:
                q, seen = queriers[qi % len(queriers)]
                mint, maxt = lo * clock // 4, clock if hi == 3 else hi * clock // 3
                ms = _MATCHERS[name]
                want = _expected(seen, ms, mint, maxt)
                assert _read(q, ms, mint, maxt) == want
                # series() may also list a series of the snapshot whose samples in range came later
                names = {str(ls) for ls in q.series(ms, mint, maxt)}
                assert set(want) <= names <= {str(ls) for ls in seen}
        for q, seen in queriers:  # every querier, at the end of everything
            assert _read(q, ALL, 0, clock) == _expected(seen, ALL, 0, clock)
        db.close()


def test_a_querier_does_not_see_later_samples_of_a_hot_series(tmp_path: Path) -> None:
    """Tail chains walked from the newest sample skip those appended after the querier."""
    db = TSDB.open(tmp_path, TSDBOptions(block_duration_ms=10**9, retention_ms=0))
    hot = Labels.of(name__="a", i="hot")
    qs = []
    for t in range(40):
        app = db.appender()
        app.append(hot, t, float(t))
        app.commit()
        qs.append(db.querier())
    for t, q in enumerate(qs):
        assert _read(q, [Matcher.equal("i", "hot")], 0, 100) == {str(hot): [(x, float(x)) for x in range(t + 1)]}
    db.close()


def test_compaction_during_a_query_neither_hides_nor_doubles_samples(tmp_path: Path) -> None:
    db = TSDB.open(tmp_path, TSDBOptions(block_duration_ms=BD, retention_ms=0, auto_compact=False))
    ls = Labels.of(name__="a", i="0")
    app = db.appender()
    for t in range(0, 3 * BD, 500):
        app.append(ls, t, float(t))
    app.commit()
    q = db.querier()
    db.compact()
    assert db.stats().blocks >= 1
    want = {str(ls): [(t, float(t)) for t in range(0, 3 * BD, 500)]}
    assert _read(q, ALL, 0, 3 * BD) == want
    assert _read(db.querier(), ALL, 0, 3 * BD) == want
    db.close()


def test_count_minus_count_is_zero_while_writers_add_series(tmp_path: Path) -> None:
    """Both selectors of one query read one snapshot, though writers add series all along."""
    db = TSDB.open(tmp_path, TSDBOptions(retention_ms=0))
    engine = PromQLEngine(db)

    def write(w: int) -> None:
        for k in range(400):
            app = db.appender(durable=False)
            for j in range(10):
                app.append(Labels.of(name__="iso", w=str(w), k=str(k), j=str(j)), 1000, 1.0)
            app.commit()

    writers = [threading.Thread(target=write, args=(w,)) for w in range(2)]
    for th in writers:
        th.start()
    results: list[float] = []
    during = 0
    for _ in range(300):  # bounded; the writers finish well before on any machine
        busy = any(th.is_alive() for th in writers)
        r = engine.instant_query("count(iso) - count(iso)", 1000)
        results.extend(s.v for s in r.value)  # type: ignore[union-attr]
        during += busy
        if not busy:
            break
    for th in writers:
        th.join()
    assert during >= 5  # queries did run while series were being added
    assert results and all(v == 0 for v in results), [v for v in results if v != 0][:5]
    db.close()


def test_shared_selects_of_a_rule_group_see_the_groups_own_outputs(tmp_path: Path) -> None:
    """A group invalidates the metrics it is about to commit; the next read renews the
    shared querier, so a later rule reads an earlier rule's output."""
    db = TSDB.open(tmp_path, TSDBOptions(retention_ms=0))
    shared = SharedSelects(db.querier(), {})
    rec = [Matcher.equal("__name__", "rec")]
    assert len(shared.select(rec, 0, 2000)) == 0
    shared.invalidate(["rec"])
    app = db.appender()
    app.append(Labels.of(name__="rec"), 1000, 2.0)
    app.commit()
    assert len(shared.select(rec, 0, 2000)) == 1
    app = db.appender()
    app.append(Labels.of(name__="other"), 1000, 2.0)
    app.commit()  # not announced: the group's snapshot does not see it
    assert len(shared.select([Matcher.equal("__name__", "other")], 0, 2000)) == 0
    db.close()


def test_selected_arrays_are_not_changed_by_later_folds(tmp_path: Path) -> None:
    db = TSDB.open(tmp_path, TSDBOptions(block_duration_ms=10**9, retention_ms=0))
    ls = Labels.of(name__="a")
    app = db.appender()
    app.append(ls, 1, 1.0)
    app.commit()
    q = db.querier()
    for t in range(2, 10_000, 1000):  # enough to fold the tail several times
        app = db.appender()
        for j in range(1000):
            app.append(Labels.of(name__="b", j=str(j)), t, 1.0)
        app.append(ls, t, float(t))
        app.commit()
    assert db.head.gen > 2
    b = q.select([Matcher.equal("__name__", "a")], 0, 10**6)
    assert b.timestamps.tolist() == [1] and np.array_equal(b.values, [1.0])
    db.close()
