from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sloguard.tsdb import STALE_NAN_BITS
from sloguard.tsdb._codec import MODE_DECIMAL, MODE_XOR, decode, encode

_U64 = st.integers(min_value=0, max_value=2**64 - 1)
_T = st.integers(min_value=-(2**62), max_value=2**62)


def _roundtrip(t: np.ndarray, v: np.ndarray) -> int:
    frame = encode(t, v)
    t2, v2 = decode(frame.data)
    assert t2.tolist() == t.tolist()
    assert v2.view(np.uint64).tolist() == v.view(np.uint64).tolist()
    return frame.data[12]  # the mode byte of the header


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_T, _U64), max_size=60))
def test_any_timestamps_and_value_bits_round_trip_exactly(pairs: list[tuple[int, int]]) -> None:
    t = np.array([p[0] for p in pairs], np.int64)
    v = np.array([p[1] for p in pairs], np.uint64).view(np.float64)
    _roundtrip(t, v)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=-(10**12), max_value=10**12), min_size=1, max_size=80), st.integers(0, 6))
def test_decimal_values_round_trip_with_specials(ints: list[int], scale: int) -> None:
    v = np.array(ints, np.float64) / 10.0**scale
    v = np.concatenate([v, [-0.0, np.array([STALE_NAN_BITS], np.uint64).view(np.float64)[0]]])
    v = np.tile(v, 30)  # specials stay under the exception budget
    t = np.arange(len(v), dtype=np.int64) * 15_000
    _roundtrip(t, v)


def test_counters_use_the_decimal_mode_and_gauges_fall_back_to_xor() -> None:
    t = np.arange(1000, dtype=np.int64) * 15_000
    counter = np.round(np.cumsum(np.arange(1000) % 7) * 0.125 + 123.456, 3)
    assert _roundtrip(t, counter) == MODE_DECIMAL
    gauge = np.random.default_rng(3).standard_normal(1000)
    assert _roundtrip(t, gauge) == MODE_XOR
    assert len(encode(t, counter).data) < 2 * 1000  # under 2 bytes/sample incl. timestamps
