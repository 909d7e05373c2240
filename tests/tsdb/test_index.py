from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sloguard.labels import Labels, Matcher, MatchType
from sloguard.tsdb import TSDB, BlockWriter, TSDBOptions
from sloguard.tsdb._index import MemPostings, resolve

SERIES = [
    Labels.of(name__="http", job="api", code="200"),
    Labels.of(name__="http", job="api", code="500"),
    Labels.of(name__="http", job="web"),
    Labels.of(name__="http", job="apiserver", code="404"),
    Labels.of(name__="cpu", job="api"),
]


def _names(labels: list[Labels]) -> set[str]:
    return {str(ls) for ls in labels}


@pytest.fixture(params=["head", "block"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> TSDB:
    path = tmp_path / "d"
    if request.param == "block":
        with BlockWriter(path) as bw:
            for ls in SERIES:
                bw.add(ls, np.array([1000]), np.array([1.0]))
    db = TSDB.open(path, TSDBOptions())
    if request.param == "head":
        app = db.appender()
        for ls in SERIES:
            app.append(ls, 1000, 1.0)
        app.commit()
    request.addfinalizer(db.close)
    return db


CASES = [
    ([("=", "job", "api")], {'http{code="200", job="api"}', 'http{code="500", job="api"}', 'cpu{job="api"}'}),
    ([("=", "__name__", "http"), ("!=", "job", "api")], {'http{job="web"}', 'http{code="404", job="apiserver"}'}),
    ([("=~", "job", "api")], {'http{code="200", job="api"}', 'http{code="500", job="api"}', 'cpu{job="api"}'}),  # anchored
    ([("=~", "job", "api.*"), ("=", "__name__", "http")], {'http{code="200", job="api"}', 'http{code="500", job="api"}', 'http{code="404", job="apiserver"}'}),
    ([("=~", "code", "200|404")], {'http{code="200", job="api"}', 'http{code="404", job="apiserver"}'}),
    ([("=~", "code", "2.."), ("=~", "code", ".*0")], {'http{code="200", job="api"}'}),
    ([("!~", "code", "[45].."), ("=", "__name__", "http")], {'http{code="200", job="api"}', 'http{job="web"}'}),
    # empty-value rule: a matcher matching "" also selects series without the label
    ([("=", "__name__", "http"), ("=", "code", "")], {'http{job="web"}'}),
    ([("=", "__name__", "http"), ("=~", "code", "|500")], {'http{job="web"}', 'http{code="500", job="api"}'}),
    ([("=", "__name__", "http"), ("!=", "code", "")], {'http{code="200", job="api"}', 'http{code="500", job="api"}', 'http{code="404", job="apiserver"}'}),
    ([("=", "__name__", "http"), ("=~", "code", ".+")], {'http{code="200", job="api"}', 'http{code="500", job="api"}', 'http{code="404", job="apiserver"}'}),
    ([("=", "__name__", "http"), ("!~", "code", ".*")], set()),
    ([("=", "job", "nope")], set()),
    ([("=~", "job", "a")], set()),
]


@pytest.mark.parametrize(("spec", "want"), CASES)
def test_matchers_follow_prometheus_semantics(db: TSDB, spec: list[tuple[str, str, str]], want: set[str]) -> None:
    ms = [Matcher(MatchType(op), n, v) for op, n, v in spec]
    q = db.querier()
    assert _names(q.select(ms, 0, 10_000).labels) == want
    assert _names(q.series(ms, 0, 10_000)) == want
    brute = {str(ls) for ls in SERIES if all(m.matches(ls.get(m.name)) for m in ms)}
    assert brute == want


class CountingIndex(MemPostings):
    """Counts how often matchers enumerate label values (to prove `=` never does)."""

    def __init__(self) -> None:
        super().__init__()
        self.value_scans: list[str] = []

    def label_values_of(self, name: str) -> list[str]:
        self.value_scans.append(name)
        return list(super().label_values_of(name))


def test_equal_and_alternation_matchers_use_postings_without_scanning_values() -> None:
    idx = CountingIndex()
    for i in range(1000):
        idx.add(i, Labels.of(name__="m", instance=f"h{i}", job="j" if i % 2 else "k"))
    got = resolve(idx, [Matcher.equal("instance", "h7"), Matcher(MatchType.REGEX, "job", "j|x")])
    assert got.tolist() == [7]
    assert idx.value_scans == []
    got = resolve(idx, [Matcher.equal("instance", "h8"), Matcher(MatchType.NOT_REGEX, "job", "j|x")])
    assert got.tolist() == [8]
    assert idx.value_scans == []
    got = resolve(idx, [Matcher(MatchType.REGEX, "instance", "h1.")])
    assert got.tolist() == list(range(10, 20))
    assert idx.value_scans == ["instance"]


def test_label_values_with_matchers_and_time_range(db: TSDB) -> None:
    q = db.querier()
    assert q.label_values("code", [Matcher.equal("job", "api")], 0, 10_000) == ["200", "500"]
    assert q.label_values("job", [], 0, 10_000) == ["api", "apiserver", "web"]
    assert q.label_values("job", [Matcher.equal("job", "api")], 5000, 10_000) == []


def test_intersection_of_a_short_and_a_long_postings_list_is_the_set_intersection() -> None:
    from sloguard.tsdb._index import _intersect

    rng = np.random.default_rng(11)
    for _ in range(500):
        a = np.unique(rng.integers(0, 5000, int(rng.integers(0, 30)))).astype(np.int64)
        b = np.unique(rng.integers(0, 5000, int(rng.integers(0, 4000)))).astype(np.int64)
        small, big = (a, b) if len(a) <= len(b) else (b, a)
        assert _intersect(small, big).tolist() == sorted(set(a.tolist()) & set(b.tolist()))
