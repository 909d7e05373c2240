"""The shared Prometheus duration helpers (``sloguard.durations``)."""

from __future__ import annotations

import pytest

from sloguard.durations import (
    DurationError,
    format_duration_ms,
    format_go_duration,
    parse_duration_ms,
)


@pytest.mark.parametrize(
    ("text", "ms"),
    [("0", 0), ("1h30m", 5_400_000), ("5m", 300_000), ("30d", 2_592_000_000), ("1y", 31_536_000_000),
     ("2w", 1_209_600_000), ("1s500ms", 1500), ("0s", 0)],
)
def test_parse_reads_prometheus_durations(text: str, ms: int) -> None:
    assert parse_duration_ms(text) == ms


@pytest.mark.parametrize("text", ["", "1.5h", "30m1h", "5x", " 5m", "1m1m", "-5m"])
def test_parse_refuses_what_model_parse_duration_refuses(text: str) -> None:
    with pytest.raises(DurationError, match="not a valid duration string"):
        parse_duration_ms(text)


def test_duration_error_is_a_value_error() -> None:
    assert issubclass(DurationError, ValueError)


@pytest.mark.parametrize(
    ("ms", "text"),
    [(0, "0s"), (90_000, "1m30s"), (3_600_500, "1h500ms"), (90 * 86_400_000, "90d"),
     (14 * 86_400_000, "2w"), (365 * 86_400_000, "1y"), (-300_000, "-5m")],
)
def test_format_spells_like_model_duration(ms: int, text: str) -> None:
    assert format_duration_ms(ms) == text


@pytest.mark.parametrize(
    ("ns", "text"), [(0, "0s"), (300 * 10**9, "5m0s"), (3600 * 10**9, "1h0m0s"), (1_500_000, "1.5ms"), (2_500_000_000, "2.5s")]
)
def test_format_go_duration_spells_like_time_duration(ns: int, text: str) -> None:
    assert format_go_duration(ns) == text
