"""Alertmanager 0.25's time interval members from their YAML text (``"monday:friday"``,
``"09:00"``, ``"-7:-1"``, IANA zones), with Alertmanager's error texts as ``ValueError``."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december")  # fmt: skip
_VALID_TIME = re.compile(r"^((([01][0-9])|(2[0-3])):[0-5][0-9])$|(^24:00$)")
_ATOI = re.compile(r"[+-]?[0-9]+")
_INT64_MAX = (1 << 63) - 1
Pair = tuple[int, int]


def time_range(m: Any) -> Pair:
    """``{start_time: "HH:MM", end_time: "HH:MM"}`` to minutes of the day, end excluded."""
    if not isinstance(m, Mapping):
        raise ValueError(f"cannot unmarshal {type(m).__name__} into timeinterval.yamlTimeRange")
    for k in m:
        if k not in ("start_time", "end_time"):
            raise ValueError(f"field {k} not found in type timeinterval.yamlTimeRange")
    start_s, end_s = scalar(m.get("start_time")), scalar(m.get("end_time"))
    if not start_s or not end_s:
        raise ValueError("both start and end times must be provided")
    start, end = _parse_time(start_s), _parse_time(end_s)
    if start >= end:
        raise ValueError("start time cannot be equal or greater than end time")
    return start, end


def _parse_time(text: str) -> int:
    if not _VALID_TIME.search(text):
        raise ValueError(f"couldn't parse timestamp {text}, invalid format")
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _split(raw: Any, member: Callable[[str], int]) -> Pair:
    """``"a:b"`` or ``"a"`` (lower-cased first, as Alertmanager does) to ``(begin, end)``."""
    text = scalar(raw).lower()
    if ":" not in text:
        v = member(text)
        return v, v
    parts = text.split(":")
    if len(parts) != 2:
        raise ValueError(f"couldn't parse range {text}, invalid format")
    return member(parts[0]), member(parts[1])


def _atoi(text: str) -> int:
    if not _ATOI.fullmatch(text):
        raise ValueError(f'strconv.Atoi: parsing "{text}": invalid syntax')
    if abs(int(text)) > _INT64_MAX:
        raise ValueError(f'strconv.Atoi: parsing "{text}": value out of range')
    return int(text)


def _weekday(text: str) -> int:
    if text not in WEEKDAYS:
        raise ValueError(f"{text} is not a valid weekday")
    return WEEKDAYS.index(text)


def _month(text: str) -> int:
    if text in MONTHS:
        return MONTHS.index(text) + 1
    try:
        return _atoi(text)
    except ValueError:
        raise ValueError(f"{text} is not a valid month") from None


def weekday_range(raw: Any) -> Pair:
    begin, end = _split(raw, _weekday)
    if begin > end:
        raise ValueError("start day cannot be before end day")
    return begin, end


def day_of_month_range(raw: Any) -> Pair:
    begin, end = _split(raw, _atoi)
    for day in (begin, end):
        if day == 0 or not -31 <= day <= 31:
            raise ValueError(f"{day} is not a valid day of the month: out of range")
    if begin < 0 < end:
        raise ValueError("end day must be negative if start day is negative")
    check_begin = 28 + begin if begin < 0 else begin  # 28: the shortest month
    check_end = 28 + end if end < 0 else end
    if check_begin > check_end:
        raise ValueError(f"end day {end} is always before start day {begin}")
    return begin, end


def _month_name(n: int) -> str:
    return MONTHS[n - 1] if 1 <= n <= 12 else ""


def month_range(raw: Any) -> Pair:
    begin, end = _split(raw, _month)
    if begin > end:
        raise ValueError(f"end month {_month_name(end)} is before start month {_month_name(begin)}")
    return begin, end


def year_range(raw: Any) -> Pair:
    begin, end = _split(raw, _atoi)
    if begin > end:
        raise ValueError(f"end year {end} is before start year {begin}")
    return begin, end


def load_location(name: str) -> tuple[str, tzinfo | None]:
    """Go's ``time.LoadLocation``: "" and "UTC" are UTC, "Local" the host's zone."""
    if name in ("", "UTC"):
        return "UTC", UTC
    if name == "Local":
        return "Local", None
    if ".." in name or name[0] in "/\\":
        raise ValueError("time: invalid location name")
    try:
        return name, ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone {name}") from None


def scalar(v: Any) -> str:
    """A YAML scalar as Go's yaml.v2 hands it to a string field."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Mapping | list):
        raise ValueError(f"cannot unmarshal {type(v).__name__} {v!r} into string")
    return str(v)
