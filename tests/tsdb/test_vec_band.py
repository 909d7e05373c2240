"""The band-key search finds the same windows as the lock-step segment search."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sloguard.tsdb._vec import BandKey, SegPart, cut

_series = st.lists(st.lists(st.integers(-50, 50), max_size=8), min_size=1, max_size=8)


def _layout(series: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    ts = [np.unique(np.asarray(s, np.int64)) for s in series]
    offs = np.zeros(len(ts) + 1, np.int64)
    np.cumsum([len(s) for s in ts], out=offs[1:])
    t = np.concatenate(ts) if ts else np.empty(0, np.int64)
    return offs, t


@settings(max_examples=300, deadline=None)
@given(_series, st.integers(-70, 70), st.integers(-70, 70), st.data())
def test_band_cut_matches_segment_search(series: list[list[int]], mint: int, maxt: int, data: st.DataObject) -> None:
    offs, t = _layout(series)
    band = BandKey.build(offs, t)
    if band is None:
        assert len(t) == 0
        return
    n = len(offs) - 1
    ranks = np.asarray(sorted(data.draw(st.sets(st.integers(0, n - 1), min_size=1))), np.int64)
    part = SegPart(np.arange(len(ranks), dtype=np.int64), offs[ranks], offs[ranks + 1], t, t.astype(np.float64))
    want, got = cut(part, mint, maxt), band.cut(part, ranks, mint, maxt)
    w_len, g_len = np.maximum(want.hi - want.lo, 0), got.hi - got.lo
    assert g_len.tolist() == w_len.tolist()
    nonempty = w_len > 0
    assert got.lo[nonempty].tolist() == want.lo[nonempty].tolist()


def test_band_key_refuses_bands_that_overflow_int64() -> None:
    t = np.array([0, 1 << 61], np.int64)
    assert BandKey.build(np.array([0, 1, 2], np.int64), t) is None


def test_band_search_clamps_times_outside_the_data() -> None:
    offs, t = _layout([[1, 2, 3], [2, 5]])
    band = BandKey.build(offs, t)
    assert band is not None
    ranks = np.array([0, 1], np.int64)
    assert band.search(ranks, -(1 << 63), "left").tolist() == [0, 3]
    assert band.search(ranks, (1 << 63) - 1, "right").tolist() == [3, 5]
    assert band.search(ranks, 2, "right").tolist() == [2, 4]
