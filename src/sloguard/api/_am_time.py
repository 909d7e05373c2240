"""Alertmanager v2's times: go-openapi ``strfmt.DateTime``.

It is written with millisecond precision (``2024-01-02T03:04:05.678Z``) and read with any of
``strfmt``'s layouts (RFC 3339 with or without a fraction or a zone, ``2006-01-02 15:04:05``,
minutes only, ...); an empty string reads as the Unix epoch, JSON null as "not given".
A time no layout accepts is refused with Go's error for the last layout tried, as
Alertmanager words it: ``parsing time "x" as "2006-01-02 15:04:05": cannot parse "x" as "2006"``.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

__all__ = ["GO_ZERO_MS", "DateTimeError", "format_datetime", "parse_datetime"]

_DATE = r"(\d{4})-(\d{2})-(\d{2})"
_T_FORM = re.compile(_DATE + r"T(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(Z|[+-]\d{2}:?\d{2})?")
_SPACE_FORM = re.compile(_DATE + r" +(\d{1,2}):(\d{2}):(\d{2})(?:[.,](\d+))?")
_LAST_LAYOUT = "2006-01-02 15:04:05"
#: Go's zero ``time.Time`` (0001-01-01T00:00:00Z) in Unix milliseconds: "no time given".
GO_ZERO_MS = calendar.timegm((1, 1, 1, 0, 0, 0)) * 1000


class DateTimeError(ValueError):
    """A time ``strfmt.DateTime`` refuses; the message is Go's."""


def format_datetime(ms: int) -> str:
    """``strfmt.DateTime``'s JSON text for Unix milliseconds, in UTC."""
    secs, frac = divmod(ms, 1000)
    t = _EPOCH + timedelta(seconds=secs)
    return f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t:%H:%M:%S}.{frac:03d}Z"


def parse_datetime(text: str) -> int:
    """Unix milliseconds (sub-millisecond digits dropped); ``""`` is the epoch."""
    if text == "":
        return 0
    ms = _t_form(text) if "T" in text else _space_form(text)
    if ms is None:
        raise DateTimeError(_go_parse_error(text))
    return ms


def _t_form(text: str) -> int | None:
    m = _T_FORM.fullmatch(text)
    if m is None:
        return None
    year, month, day, hour, minute, sec, frac, zone = m.groups()
    if sec is None and zone not in (None, "Z"):
        return None  # "2006-01-02T15:04Z" takes a literal Z, no offset
    if zone and ":" not in zone and zone != "Z" and len(frac or "") not in (3, 6):
        return None  # "-0700" only in the .000 and .000000 layouts
    return _epoch_ms(year, month, day, hour, minute, sec or "0", frac, zone)


def _space_form(text: str) -> int | None:
    m = _SPACE_FORM.fullmatch(text)
    if m is None:
        return None
    year, month, day, hour, minute, sec, frac = m.groups()
    return _epoch_ms(year, month, day, hour, minute, sec, frac, None)


def _epoch_ms(year: str, month: str, day: str, hour: str, minute: str, sec: str,
              frac: str | None, zone: str | None) -> int | None:
    y, mo, d, h, mi, s = (int(x) for x in (year, month, day, hour, minute, sec))
    if not (1 <= mo <= 12 and h < 24 and mi < 60 and s < 60) or not 1 <= d <= _days_in(mo, y):
        return None
    offset = 0
    if zone and zone != "Z":
        digits = zone[1:].replace(":", "")
        offset = (int(digits[:2]) * 60 + int(digits[2:])) * (1 if zone[0] == "+" else -1)
    secs = calendar.timegm((y, mo, d, h, mi, s)) - offset * 60
    return secs * 1000 + int((frac or "0")[:3].ljust(3, "0"))


def _days_in(month: int, year: int) -> int:
    return calendar.monthrange(year, month)[1] if 1 <= year <= 9999 else 31


# Go's time.Parse of the last layout, element by element, for its error message.
_ELEMENTS = (("std", "2006"), ("lit", "-"), ("std", "01"), ("lit", "-"), ("std", "02"), ("lit", " "),
             ("std", "15"), ("lit", ":"), ("std", "04"), ("lit", ":"), ("std", "05"))
_RANGES = {"01": ("month", 1, 12), "15": ("hour", 0, 23), "04": ("minute", 0, 59), "05": ("second", 0, 59)}


def _go_parse_error(value: str) -> str:
    rest = value
    fields: dict[str, int] = {}
    for kind, elem in _ELEMENTS:
        if kind == "lit":
            rest, ok = _skip(rest, elem)
            if not ok:
                return _cannot(value, rest, elem)
            continue
        num, after = _number(rest, elem)
        if num is None:
            return _cannot(value, after, elem)
        if elem in _RANGES and not _RANGES[elem][1] <= num <= _RANGES[elem][2]:
            return f"parsing time {_quote(value)}: {_RANGES[elem][0]} out of range"
        fields[elem], rest = num, after
    rest = re.sub(r"^[.,]\d+", "", rest)
    if rest:
        return f"parsing time {_quote(value)}: extra text: {_quote(rest)}"
    if not 1 <= fields["02"] <= _days_in(fields["01"], fields["2006"]):
        return f"parsing time {_quote(value)}: day out of range"
    return f"parsing time {_quote(value)}: cannot parse"  # every layout failed for another reason


def _skip(rest: str, lit: str) -> tuple[str, bool]:
    if lit == " ":
        if rest and rest[0] != " ":
            return rest, False
        return rest.lstrip(" "), True
    return (rest[1:], True) if rest.startswith(lit) else (rest, False)


def _number(rest: str, elem: str) -> tuple[int | None, str]:
    """The number and what follows it; on failure, None and the text Go's error quotes."""
    if elem == "2006":
        head = rest[:4]
        if len(head) < 4 or not head[0].isdigit():
            return None, rest
        return (int(head), rest[4:]) if head.isdigit() else (None, rest[4:])
    if not rest[:1].isdigit():
        return None, rest
    if rest[1:2].isdigit():
        return int(rest[:2]), rest[2:]
    return (int(rest[0]), rest[1:]) if elem == "15" else (None, rest)


def _cannot(value: str, rest: str, elem: str) -> str:
    return f"parsing time {_quote(value)} as {_quote(_LAST_LAYOUT)}: cannot parse {_quote(rest)} as {_quote(elem)}"


def _quote(s: str) -> str:
    """Go's ``time.quote``: double quotes, ``"`` and ``\\`` escaped, other bytes as they are."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
