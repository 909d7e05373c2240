"""``estimate_series``: the query engine's series count from the indexes, no samples read."""

from __future__ import annotations

from sloguard.labels import Labels, Matcher
from sloguard.tsdb import SharedSelects
from sloguard.tsdb.testing import MemoryStorage

from .conftest import OpenDB, up

UP = [Matcher.equal("__name__", "up")]


def test_estimate_counts_matching_series_with_samples_in_range(open_db: OpenDB) -> None:
    db = open_db()
    app = db.appender()
    for i in range(5):
        app.append(up(i=str(i)), 1000 * (i + 1), 1.0)
    app.append(up(name__="other"), 1000, 1.0)
    app.commit()
    q = db.querier()
    assert q.estimate_series(UP, 0, 10_000) == len(q.series(UP, 0, 10_000)) == 5
    assert q.estimate_series(UP, 3500, 10_000) == 2  # series 4 and 5 only
    assert q.estimate_series([Matcher.equal("__name__", "none")], 0, 10_000) == 0


def test_shared_selects_passes_the_estimate_through_or_counts_series(open_db: OpenDB) -> None:
    db = open_db()
    app = db.appender()
    app.append(up(i="1"), 1000, 1.0)
    app.commit()
    assert SharedSelects(db.querier(), {}).estimate_series(UP, 0, 5000) == 1
    st = MemoryStorage()
    st.add(up(i="1"), [1000], [1.0])
    st.add(up(i="2"), [1000], [1.0])
    st.add(up(i="3"), [9000], [1.0])

    class Counted:  # a querier with no estimate of its own: its series are counted
        def series(self, matchers: list[Matcher], mint: int, maxt: int) -> list[Labels]:
            return st.querier().series(matchers, mint, maxt)

    assert SharedSelects(Counted(), {}).estimate_series(UP, 0, 5000) == 2  # type: ignore[arg-type]
    assert st.querier().estimate_series(UP, 0, 5000) == 2
