"""Durations as SLO specs write them: Prometheus units plus OpenSLO's calendar units."""

from __future__ import annotations

import re

_UNIT_MS = {
    "ms": 1,
    "s": 1_000,
    "m": 60_000,
    "h": 3_600_000,
    "d": 86_400_000,
    "w": 7 * 86_400_000,
    "y": 365 * 86_400_000,
}
_PART = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")


class DurationError(ValueError):
    pass


def parse_duration_ms(text: str) -> int:
    """Parse ``30d``, ``1h30m``, ``5m``; raise ``DurationError`` naming the text and unit."""
    s = str(text).strip()
    pos, total = 0, 0
    for m in _PART.finditer(s):
        if m.start() != pos:
            break
        total += int(m.group(1)) * _UNIT_MS[m.group(2)]
        pos = m.end()
    if pos != len(s) or not s:
        bad = re.search(r"\d+([a-zA-Z]+)", s)
        if bad and bad.group(1) not in _UNIT_MS:
            raise DurationError(
                f"unknown duration unit {bad.group(1)!r} in {s!r} (use ms, s, m, h, d, w or y)"
            )
        raise DurationError(f"invalid duration {s!r} (expected e.g. '5m', '1h30m', '30d')")
    if total <= 0:
        raise DurationError(f"duration {s!r} must be greater than zero")
    return total


def format_duration(ms: int) -> str:
    """The shortest Prometheus spelling: 2592000000 -> '30d', 5400000 -> '1h30m'."""
    if ms == 0:
        return "0s"
    out = []
    for unit in ("y", "w", "d", "h", "m", "s", "ms"):
        size = _UNIT_MS[unit]
        if unit in ("y", "w") and ms % size:
            continue
        n, ms = divmod(ms, size)
        if n:
            out.append(f"{n}{unit}")
    return "".join(out)
