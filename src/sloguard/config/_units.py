"""Prometheus-style durations (``1h30m``, ``15s``) and byte sizes (``512MB``) for config files."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

_DURATION = re.compile(
    r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?"
)
_DURATION_UNITS = (365 * 86400.0, 7 * 86400.0, 86400.0, 3600.0, 60.0, 1.0, 0.001)
_BYTES = re.compile(r"(\d+)(B|KB|MB|GB|TB|PB|EB)?")
_BYTE_UNITS = {"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40, "PB": 1 << 50, "EB": 1 << 60}


def parse_duration(value: object) -> float:
    """``"1h30m"`` -> 5400.0 seconds; ``"0"`` -> 0. Raises ``ValueError`` naming the value."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f'expected a duration such as "15s" or "1h30m", got {value!r}')
    s = str(value)
    if s == "0":
        return 0.0
    m = _DURATION.fullmatch(s)
    if not s or m is None:
        raise ValueError(f'expected a duration such as "15s" or "1h30m", got {s!r}')
    return sum(int(g) * u for g, u in zip(m.groups(), _DURATION_UNITS, strict=True) if g)


def format_duration(seconds: float) -> str:
    """Prometheus' spelling of a duration: ``5400`` -> ``"1h30m"``, ``0`` -> ``"0s"``."""
    ms = round(seconds * 1000)
    if ms == 0:
        return "0s"
    out = []
    for unit, size in (("y", 31536000000), ("w", 604800000), ("d", 86400000), ("h", 3600000), ("m", 60000), ("s", 1000), ("ms", 1)):
        n, ms = divmod(ms, size)
        if n:
            out.append(f"{n}{unit}")
    return "".join(out)


def parse_bytes(value: object) -> int:
    """``"512MB"`` -> 536870912 (base 2, like Prometheus' ``retention.size``); ints pass."""
    if isinstance(value, bool):
        raise ValueError(f'expected a byte size such as "512MB" or "10GB", got {value!r}')
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"expected a non-negative byte size, got {value}")
        return value
    m = _BYTES.fullmatch(str(value).strip()) if isinstance(value, str) else None
    if m is None:
        raise ValueError(f'expected a byte size such as "512MB" or "10GB", got {value!r}')
    return int(m.group(1)) * _BYTE_UNITS[m.group(2) or "B"]


Duration = Annotated[float, BeforeValidator(parse_duration), PlainSerializer(format_duration, return_type=str)]
ByteSize = Annotated[int, BeforeValidator(parse_bytes)]
