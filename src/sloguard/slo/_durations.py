"""Durations as SLO specs write them: Prometheus durations, worded for spec authors, above zero."""

from __future__ import annotations

import re

from sloguard.durations import DurationError
from sloguard.durations import parse_duration_ms as _parse_prometheus_duration

__all__ = ["DurationError", "parse_duration_ms"]

_UNITS = ("ms", "s", "m", "h", "d", "w", "y")


def parse_duration_ms(text: str) -> int:
    """Parse ``30d``, ``1h30m``, ``5m``; raise ``DurationError`` naming the text and unit."""
    s = str(text).strip()
    try:
        total = _parse_prometheus_duration(s)
    except DurationError:
        bad = re.search(r"\d+([a-zA-Z]+)", s)
        if bad and bad.group(1) not in _UNITS:
            raise DurationError(
                f"unknown duration unit {bad.group(1)!r} in {s!r} (use ms, s, m, h, d, w or y)"
            ) from None
        raise DurationError(f"invalid duration {s!r} (expected e.g. '5m', '1h30m', '30d')") from None
    if total <= 0:
        raise DurationError(f"duration {s!r} must be greater than zero")
    return total
