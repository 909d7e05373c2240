"""Prometheus' number formatting functions: ``humanize*``, ``toTime`` (Go ``%.4g`` output)."""

from __future__ import annotations

import math
from typing import Any

from sloguard.durations import parse_duration_ms
from sloguard.gofmt import go_float
from sloguard.rules._errors import RulesError
from sloguard.rules.template._gofmt import GoTime, go_type


class FuncError(RulesError):
    """A function call failed; the executor reports ``error calling NAME: <message>``."""


def to_float(v: Any) -> float:
    """Prometheus' ``convertToFloat``."""
    if isinstance(v, bool) or v is None:
        raise FuncError(f"can't convert {go_type(v)} to float")
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v.strip()) if v.strip() == v and "_" not in v else float("x")
        except ValueError:
            raise FuncError(f'strconv.ParseFloat: parsing "{v}": invalid syntax') from None
    if isinstance(v, GoTime):
        return v.ns / 1e9
    raise FuncError(f"can't convert {go_type(v)} to float")


def _g4(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return f"{v:.4g}"


def humanize(i: Any) -> str:
    v = to_float(i)
    if v == 0 or math.isnan(v) or math.isinf(v):
        return _g4(v)
    prefix = ""
    if abs(v) >= 1:
        for p in ("k", "M", "G", "T", "P", "E", "Z", "Y"):
            if abs(v) < 1000:
                break
            prefix, v = p, v / 1000
        return _g4(v) + prefix
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(v) >= 1:
            break
        prefix, v = p, v * 1000
    return _g4(v) + prefix


def humanize1024(i: Any) -> str:
    v = to_float(i)
    if abs(v) <= 1 or math.isnan(v) or math.isinf(v):
        return _g4(v)
    prefix = ""
    for p in ("ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"):
        if abs(v) < 1024:
            break
        prefix, v = p, v / 1024
    return _g4(v) + prefix


def humanize_duration(i: Any) -> str:
    v = to_float(i)
    if math.isnan(v) or math.isinf(v):
        return _g4(v)
    if v == 0:
        return _g4(v) + "s"
    if abs(v) >= 1:
        sign = "-" if v < 0 else ""
        v = abs(v)
        d = int(v)
        secs, mins, hours, days = d % 60, (d // 60) % 60, (d // 3600) % 24, d // 86400
        if days:
            return f"{sign}{days}d {hours}h {mins}m {secs}s"
        if hours:
            return f"{sign}{hours}h {mins}m {secs}s"
        if mins:
            return f"{sign}{mins}m {secs}s"
        return f"{sign}{_g4(v)}s"
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(v) >= 1:
            break
        prefix, v = p, v * 1000
    return f"{_g4(v)}{prefix}s"


def humanize_percentage(i: Any) -> str:
    return _g4(to_float(i) * 100) + "%"


def _float_to_ns(v: float) -> int:
    """Prometheus' ``floatToTime``: seconds to ns, refusing NaN/Inf and int64 overflow."""
    if math.isnan(v) or math.isinf(v):
        raise FuncError("value is NaN or Inf")
    ns = v * 1e9
    if ns > 9.223372036854775807e18 or ns < -9.223372036854775808e18:
        raise FuncError(f"{go_float(v)} cannot be represented as a nanoseconds timestamp since it overflows int64")
    return int(ns)


def humanize_timestamp(i: Any) -> str:
    v = to_float(i)
    if math.isnan(v) or math.isinf(v):
        return _g4(v)
    return str(GoTime(_float_to_ns(v) // 1_000_000 * 1_000_000))


def to_time(i: Any) -> GoTime:
    return GoTime(_float_to_ns(to_float(i)) // 1_000_000 * 1_000_000)  # model.Time: ms


def parse_duration(s: Any) -> float:
    """Prometheus' ``parseDuration``: a Prometheus duration string in seconds."""
    if not isinstance(s, str):
        raise FuncError(f"wrong type for value; expected string; got {go_type(s)}")
    try:
        return parse_duration_ms(s) / 1000
    except ValueError as e:
        raise FuncError(str(e)) from None
