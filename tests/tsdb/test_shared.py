"""SharedSelects: one select per selector and evaluation, over the widest window seen."""

from __future__ import annotations

from collections.abc import Sequence

from sloguard.labels import Labels, Matcher, MatchType
from sloguard.tsdb import SeriesBatch, SharedSelects
from sloguard.tsdb.testing import MemoryStorage

MIN = 60_000


class _Counting:
    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.calls: list[tuple[str, int, int]] = []

    def select(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> SeriesBatch:
        self.calls.append((str(matchers[0].value), mint, maxt))
        return self.inner.select(matchers, mint, maxt)  # type: ignore[attr-defined, no-any-return]


def _storage() -> MemoryStorage:
    st = MemoryStorage()
    st.add(Labels.of(name__="x", job="a"), [i * MIN for i in range(400)], [float(i) for i in range(400)])
    st.add(Labels.of(name__="y", job="a"), [0], [1.0])
    return st


X = [Matcher(MatchType.EQUAL, "__name__", "x")]
ANY = [Matcher(MatchType.EQUAL, "job", "a")]


def test_narrower_windows_reuse_the_wider_select_and_the_span_carries_over() -> None:
    st = _storage()
    inner = _Counting(st.querier())
    spans: dict[object, int] = {}
    first = SharedSelects(inner, spans)  # type: ignore[arg-type]
    t = 300 * MIN
    first.select(X, t - 5 * MIN, t)
    wide = first.select(X, t - 60 * MIN, t)  # wider: selected again
    assert first.select(X, t - 30 * MIN, t) is wide  # narrower: answered from the wide one
    assert len(wide.timestamps) == 61
    assert [c[1] for c in inner.calls] == [t - 5 * MIN, t - 60 * MIN]
    # the next evaluation selects the widest window at once
    inner.calls.clear()
    second = SharedSelects(inner, spans)  # type: ignore[arg-type]
    t2 = t + MIN
    second.select(X, t2 - 5 * MIN, t2)
    second.select(X, t2 - 60 * MIN, t2)
    assert inner.calls == [("x", t2 - 60 * MIN, t2)]
    # another evaluation time is never answered from an entry of a different one
    second.select(X, t - 5 * MIN, t)
    assert inner.calls[-1] == ("x", t - 60 * MIN, t)
    second.select(X, t2 - 30 * MIN, t2)  # (an offset selector) each end time keeps its entry
    assert len(inner.calls) == 2


def test_invalidate_drops_selects_of_written_metrics_and_of_any_metric() -> None:
    st = _storage()
    inner = _Counting(st.querier())
    s = SharedSelects(inner, {})  # type: ignore[arg-type]
    t = 300 * MIN
    s.select(X, t - MIN, t)
    s.select(ANY, t - MIN, t)
    s.invalidate({"y"})  # x's select stays; the name-less one may see y
    s.select(X, t - MIN, t)
    s.select(ANY, t - MIN, t)
    assert [c[0] for c in inner.calls] == ["x", "a", "a"]
    s.invalidate({"x"})
    s.select(X, t - MIN, t)
    assert [c[0] for c in inner.calls] == ["x", "a", "a", "x"]
