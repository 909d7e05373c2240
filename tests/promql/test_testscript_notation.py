import math

import numpy as np
import pytest

from sloguard.labels import Labels
from sloguard.promql.testscript import (
    NotationError,
    expand_series_values,
    parse_duration_ms,
    parse_number,
    parse_series_desc,
)
from sloguard.tsdb import stale_mask


def test_increment_gives_n_plus_one_values() -> None:
    assert expand_series_values("0+10x3") == [0.0, 10.0, 20.0, 30.0]


def test_decrement_counts_down() -> None:
    assert expand_series_values("10-2x2") == [10.0, 8.0, 6.0]


def test_repeat_gives_n_plus_one_copies() -> None:
    assert expand_series_values("7x2") == [7.0, 7.0, 7.0]


def test_blanks_are_none_and_blank_repeat_gives_exactly_n() -> None:
    assert expand_series_values("1 _ _x3 2") == [1.0, None, None, None, None, 2.0]


def test_stale_is_the_staleness_nan() -> None:
    vals = expand_series_values("1 stale")
    assert stale_mask(np.array(vals, np.float64)).tolist() == [False, True]


def test_accumulates_step_by_step_like_prometheus() -> None:
    vals = expand_series_values("0+0.1x3")
    assert vals[3] == 0.1 + 0.1 + 0.1  # not 3 * 0.1


def test_special_floats() -> None:
    vals = expand_series_values("Inf -Inf +Inf NaN")
    assert vals[:3] == [math.inf, -math.inf, math.inf]
    assert vals[3] is not None and math.isnan(vals[3])


def test_hex_is_repetition_inside_series_values() -> None:
    assert expand_series_values("0x2") == [0.0, 0.0, 0.0]


def test_bad_item_names_the_item() -> None:
    with pytest.raises(NotationError, match="'1\\+'"):
        expand_series_values("1+")


def test_series_desc_with_name_and_labels() -> None:
    labels, vals = parse_series_desc('http_requests{job="api", instance="0"} 1 2')
    assert labels == Labels.of(name__="http_requests", job="api", instance="0")
    assert vals == [1.0, 2.0]


def test_series_desc_with_name_label_and_escapes() -> None:
    labels, _ = parse_series_desc('{__name__="a", b="x\\"y", c=\'q\'} 1')
    assert labels == Labels.of(name__="a", b='x"y', c="q")


def test_bare_numbers_follow_go_parse_int_base_zero() -> None:
    assert parse_number("0x3d") == 61.0
    assert parse_number("010") == 8.0
    assert parse_number("-1e-3") == -0.001
    assert parse_number("+Inf") == math.inf


def test_non_number_raises() -> None:
    with pytest.raises(NotationError):
        parse_number("{} 1")


def test_durations() -> None:
    assert parse_duration_ms("1h30m") == 5_400_000
    assert parse_duration_ms("10s") == 10_000
    assert parse_duration_ms("1ms") == 1
    with pytest.raises(NotationError):
        parse_duration_ms("5x")
