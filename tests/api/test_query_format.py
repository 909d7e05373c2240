"""Number and string formatting of query results, as Prometheus' JSON writes them."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sloguard.promql._format import (
    format_json_seconds,
    format_point_time,
    format_scalar_value,
    format_value,
    format_values,
    go_json_string,
)


@settings(max_examples=300, derandomize=True)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=20))
def test_array_formatting_equals_one_by_one(values: list[float]) -> None:
    assert format_values(np.array(values, np.float64)) == [format_value(v) for v in values]


@settings(max_examples=300, derandomize=True)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_values_round_trip_and_switch_to_exponent_like_go(v: float) -> None:
    s = format_value(v)
    assert float(s) == v
    a = abs(v)
    assert ("e" in s) == (a != 0 and (a < 1e-6 or a >= 1e21))
    assert not s.endswith(".0")


@settings(max_examples=300, derandomize=True)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_scalar_values_are_never_exponential(v: float) -> None:
    s = format_scalar_value(v)
    assert "e" not in s
    assert float(s) == v


def test_special_values_use_prometheus_spelling() -> None:
    assert [format_value(x) for x in (math.nan, math.inf, -math.inf)] == ["NaN", "+Inf", "-Inf"]
    assert format_scalar_value(-math.inf) == "-Inf"


def test_go_exponent_has_two_digits_and_sign() -> None:
    assert format_value(1e-7) == "1e-07"
    assert format_value(1.5e21) == "1.5e+21"
    assert format_value(123456789012345678.0) == "123456789012345680"


def test_point_times_are_seconds_with_three_digit_fraction() -> None:
    assert [format_point_time(t) for t in (0, 1500, -1500, 1, -1, 1_700_000_000_000)] == [
        "0", "1.500", "-1.500", "0.001", "-0.001", "1700000000"]
    assert format_json_seconds(1_700_000_000_500) == "1700000000.5"
    assert format_json_seconds(100_000) == "100"


def test_strings_are_escaped_like_go_encoding_json() -> None:
    assert go_json_string('a<b>&"\\\n\t\b\x01\u2028é') == '"a\\u003cb\\u003e\\u0026\\"\\\\\\n\\t\\u0008\\u0001\\u2028é"'
