"""Alertmanager 0.25 ``time_intervals``: parsing with Alertmanager's error texts, and ``contains``.

A ``TimeInterval`` holds optional constraints (times of day, weekdays, days of the month,
months, years) and a location; a time is inside it when every present constraint holds.
A constraint given as an empty list (``weekdays: []``) matches nothing, as in Alertmanager;
an absent or null one matches everything.

Semantics kept from Alertmanager 0.25 on purpose (a differential peer must agree):

- without ``location`` the time is read as given (the notification pipeline passes UTC);
- a month's length is the whole hours between its first local midnight and the next
  month's, divided by 24 and truncated, so a month in which the clocks spring forward is one
  day short (March in Europe counts 30 days and ``-1`` means the 30th). Alertmanager fixed this
  later (PR #5447); 0.25 behaves this way;
- month numbers are not range-checked (``months: ['13']`` parses and never matches).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december")  # fmt: skip
_VALID_TIME = re.compile(r"^((([01][0-9])|(2[0-3])):[0-5][0-9])$|(^24:00$)")
_ATOI = re.compile(r"[+-]?[0-9]+")
_INTERVAL_KEYS = ("times", "weekdays", "days_of_month", "months", "years", "location")
_INT64_MAX = (1 << 63) - 1


class TimeIntervalError(ValueError):
    """A time interval that Alertmanager refuses: ``reason`` is Alertmanager's own text."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True, slots=True)
class TimeRange:
    """Minutes of the day, ``start_minute`` included, ``end_minute`` excluded (0..1440)."""

    start_minute: int
    end_minute: int


@dataclass(frozen=True, slots=True)
class InclusiveRange:
    """``begin..end``, both included. Weekdays count from Sunday = 0, months from January = 1;
    days of the month may be negative (-1 is the month's last day)."""

    begin: int
    end: int


@dataclass(frozen=True, slots=True)
class Location:
    """An IANA zone by ``name``; ``tz`` is None for ``Local`` (the host's zone)."""

    name: str
    tz: tzinfo | None

    def convert(self, t: datetime) -> datetime:
        return t.astimezone(self.tz) if self.tz is not None else t.astimezone()


Ranges = tuple[InclusiveRange, ...] | None


@dataclass(frozen=True, slots=True)
class TimeInterval:
    """One entry of a named time interval; None means "no constraint", () means "never"."""

    times: tuple[TimeRange, ...] | None = None
    weekdays: Ranges = None
    days_of_month: Ranges = None
    months: Ranges = None
    years: Ranges = None
    location: Location | None = None

    def contains(self, t: datetime) -> bool:
        """Whether ``t`` lies inside this interval (a naive ``t`` is read as UTC)."""
        if t.tzinfo is None:
            t = t.replace(tzinfo=UTC)
        if self.location is not None:
            t = self.location.convert(t)
        minute = t.hour * 60 + t.minute
        if self.times is not None and not any(r.start_minute <= minute < r.end_minute for r in self.times):
            return False
        if self.days_of_month is not None and not _in_days_of_month(self.days_of_month, t):
            return False
        return (
            _in_ranges(self.months, t.month)
            and _in_ranges(self.weekdays, (t.weekday() + 1) % 7)
            and _in_ranges(self.years, t.year)
        )


def _in_ranges(ranges: Ranges, value: int) -> bool:
    return ranges is None or any(r.begin <= value <= r.end for r in ranges)


def days_in_month(t: datetime) -> int:
    """Alertmanager 0.25's month length: whole hours from this month's first local midnight to
    the next one's, divided by 24 and truncated (a spring-forward month is one day short)."""
    start = datetime(t.year, t.month, 1, tzinfo=t.tzinfo)
    end = datetime(t.year + t.month // 12, t.month % 12 + 1, 1, tzinfo=t.tzinfo)
    hours = int((end.timestamp() - start.timestamp()) // 3600)
    return hours // 24


def _in_days_of_month(ranges: tuple[InclusiveRange, ...], t: datetime) -> bool:
    n = days_in_month(t)
    for r in ranges:
        begin = n + r.begin + 1 if r.begin < 0 else r.begin
        end = n + r.end + 1 if r.end < 0 else r.end
        if begin > n:
            continue  # a range starting after the month's end is skipped, not clamped
        begin, end = max(-n, min(begin, n)), max(-n, min(end, n))
        if begin <= t.day <= end:
            return True
    return False


def in_time_intervals(now: datetime, intervals: Mapping[str, Sequence[TimeInterval]], names: Sequence[str]) -> bool:
    """Whether ``now`` (read as UTC, as Alertmanager's pipeline does) lies in any interval named."""
    utc = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    for name in names:
        if name not in intervals:
            raise TimeIntervalError(name, f"time interval {name} doesn't exist in config")
        if any(ti.contains(utc) for ti in intervals[name]):
            return True
    return False


# ---- parsing from the raw YAML mapping -------------------------------------------------


def parse_named_time_intervals(raw: Any, key: str = "time_intervals") -> dict[str, tuple[TimeInterval, ...]]:
    """The config's ``time_intervals`` (or the deprecated ``mute_time_intervals``) list:
    ``[{name: ..., time_intervals: [...]}, ...]`` to a dict by name."""
    kind = "mute time interval" if key == "mute_time_intervals" else "time interval"
    out: dict[str, tuple[TimeInterval, ...]] = {}
    for i, entry in enumerate(_as_list(raw, key)):
        path = f"{key}[{i}]"
        entry = _as_mapping(entry, path, "config.TimeInterval")
        _no_unknown(entry, ("name", "time_intervals"), path, "config.plain")
        name = _scalar(entry.get("name"))
        if not name:
            raise TimeIntervalError(path, f"missing name in {kind}")
        if name in out:
            raise TimeIntervalError(path, f'{kind} "{name}" is not unique')
        out[name] = parse_time_intervals(entry.get("time_intervals"), f"{path}.time_intervals")
    return out


def parse_time_intervals(raw: Any, path: str) -> tuple[TimeInterval, ...]:
    """A list of interval mappings (the body of one named time interval)."""
    return tuple(parse_time_interval(e, f"{path}[{i}]") for i, e in enumerate(_as_list(raw, path)))


def parse_time_interval(raw: Any, path: str) -> TimeInterval:
    """One interval mapping (``times``, ``weekdays``, ``days_of_month``, ``months``, ``years``,
    ``location``) to a ``TimeInterval``; bad input raises ``TimeIntervalError`` naming the key."""
    m = _as_mapping(raw, path, "timeinterval.TimeInterval")
    _no_unknown(m, _INTERVAL_KEYS, path, "timeinterval.TimeInterval")
    loc = m.get("location")
    return TimeInterval(
        times=_each(m, "times", path, _time_range),
        weekdays=_each(m, "weekdays", path, _weekday_range),
        days_of_month=_each(m, "days_of_month", path, _day_of_month_range),
        months=_each(m, "months", path, _month_range),
        years=_each(m, "years", path, _year_range),
        location=None if loc is None else _location(_scalar(loc), f"{path}.location"),
    )


def _each(m: Mapping[str, Any], key: str, path: str, parse: Any) -> Any:
    if m.get(key) is None:
        return None
    items = _as_list(m[key], f"{path}.{key}")
    out = []
    for i, item in enumerate(items):
        where = f"{path}.{key}[{i}]"
        try:
            out.append(parse(item))
        except ValueError as e:
            raise TimeIntervalError(f"{where} ({item!r})", str(e)) from None
    return tuple(out)


def _time_range(raw: Any) -> TimeRange:
    if not isinstance(raw, Mapping):
        raise ValueError(f"cannot unmarshal {type(raw).__name__} into timeinterval.yamlTimeRange")
    m = raw
    for k in m:
        if k not in ("start_time", "end_time"):
            raise ValueError(f"field {k} not found in type timeinterval.yamlTimeRange")
    start_s, end_s = _scalar(m.get("start_time")), _scalar(m.get("end_time"))
    if not start_s or not end_s:
        raise ValueError("both start and end times must be provided")
    start, end = _parse_time(start_s), _parse_time(end_s)
    if start >= end:
        raise ValueError("start time cannot be equal or greater than end time")
    return TimeRange(start, end)


def _parse_time(text: str) -> int:
    if not _VALID_TIME.search(text):
        raise ValueError(f"couldn't parse timestamp {text}, invalid format")
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _split(raw: Any, member: Any) -> InclusiveRange:
    text = _scalar(raw).lower()
    if ":" not in text:
        v = member(text)
        return InclusiveRange(v, v)
    parts = text.split(":")
    if len(parts) != 2:
        raise ValueError(f"couldn't parse range {text}, invalid format")
    return InclusiveRange(member(parts[0]), member(parts[1]))


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


def _weekday_range(raw: Any) -> InclusiveRange:
    r = _split(raw, _weekday)
    if r.begin > r.end:
        raise ValueError("start day cannot be before end day")
    return r


def _day_of_month_range(raw: Any) -> InclusiveRange:
    r = _split(raw, _atoi)
    for day in (r.begin, r.end):
        if day == 0 or not -31 <= day <= 31:
            raise ValueError(f"{day} is not a valid day of the month: out of range")
    if r.begin < 0 < r.end:
        raise ValueError("end day must be negative if start day is negative")
    check_begin = 28 + r.begin if r.begin < 0 else r.begin  # 28: the shortest month
    check_end = 28 + r.end if r.end < 0 else r.end
    if check_begin > check_end:
        raise ValueError(f"end day {r.end} is always before start day {r.begin}")
    return r


def _month_name(n: int) -> str:
    return MONTHS[n - 1] if 1 <= n <= 12 else ""


def _month_range(raw: Any) -> InclusiveRange:
    r = _split(raw, _month)
    if r.begin > r.end:
        raise ValueError(f"end month {_month_name(r.end)} is before start month {_month_name(r.begin)}")
    return r


def _year_range(raw: Any) -> InclusiveRange:
    r = _split(raw, _atoi)
    if r.begin > r.end:
        raise ValueError(f"end year {r.end} is before start year {r.begin}")
    return r


def _location(name: str, path: str) -> Location:
    """Go's ``time.LoadLocation``: "" and "UTC" are UTC, "Local" the host's zone."""
    if name in ("", "UTC"):
        return Location("UTC", UTC)
    if name == "Local":
        return Location("Local", None)
    if ".." in name or name[0] in "/\\":
        raise TimeIntervalError(f"{path} ({name!r})", "time: invalid location name")
    try:
        return Location(name, ZoneInfo(name))
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise TimeIntervalError(f"{path} ({name!r})", f"unknown time zone {name}") from None


def _scalar(v: Any) -> str:
    """A YAML scalar as Go's yaml.v2 hands it to a string field."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Mapping | list):
        raise ValueError(f"cannot unmarshal {type(v).__name__} {v!r} into string")
    return str(v)


def _as_list(v: Any, path: str) -> list[Any]:
    if v is None:
        return []
    if not isinstance(v, list):
        raise TimeIntervalError(f"{path} ({v!r})", f"cannot unmarshal {type(v).__name__} into a list")
    return v


def _as_mapping(v: Any, path: str, go_type: str) -> Mapping[str, Any]:
    if not isinstance(v, Mapping):
        raise TimeIntervalError(f"{path} ({v!r})", f"cannot unmarshal {type(v).__name__} into {go_type}")
    return v


def _no_unknown(m: Mapping[str, Any], known: Sequence[str], path: str, go_type: str) -> None:
    for k in m:
        if k not in known:
            raise TimeIntervalError(f"{path}.{k}", f"field {k} not found in type {go_type}")
