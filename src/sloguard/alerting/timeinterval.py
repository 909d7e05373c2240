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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any

from sloguard.alerting import _timeinterval_text as text
from sloguard.alerting._errors import AlertingConfigError

if TYPE_CHECKING:
    from sloguard.alerting.config import AlertmanagerConfig

_INTERVAL_KEYS = ("times", "weekdays", "days_of_month", "months", "years", "location")


class TimeIntervalError(AlertingConfigError):
    """A time interval that Alertmanager refuses: ``reason`` (the ``detail``) is Alertmanager's
    own text, ``path`` the key path; no file (the config reader adds it)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__("", path, reason)

    @property
    def reason(self) -> str:
        return self.detail


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
        local = self.location is not None and self.location.tz is None
        if self.days_of_month is not None and not _in_days_of_month(self.days_of_month, t, local):
            return False
        return (
            _in_ranges(self.months, t.month)
            and _in_ranges(self.weekdays, (t.weekday() + 1) % 7)
            and _in_ranges(self.years, t.year)
        )


def _in_ranges(ranges: Ranges, value: int) -> bool:
    return ranges is None or any(r.begin <= value <= r.end for r in ranges)


def days_in_month(t: datetime, local: bool = False) -> int:
    """Alertmanager 0.25's month length: whole hours from this month's first local midnight to
    the next one's, divided by 24 and truncated (a spring-forward month is one day short).
    ``local``: midnights in the host's zone with its DST rules (``t`` carries a fixed offset)."""
    tz = None if local else t.tzinfo
    start = datetime(t.year, t.month, 1, tzinfo=tz)
    end = datetime(t.year + t.month // 12, t.month % 12 + 1, 1, tzinfo=tz)
    hours = int((end.timestamp() - start.timestamp()) // 3600)
    return hours // 24


def _in_days_of_month(ranges: tuple[InclusiveRange, ...], t: datetime, local: bool) -> bool:
    n = days_in_month(t, local)
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


def intervals_from_config(cfg: AlertmanagerConfig) -> dict[str, tuple[TimeInterval, ...]]:
    """The config's named intervals (``time_intervals`` and the legacy ``mute_time_intervals``,
    names and specs already checked as the config was read) as ``TimeInterval`` lists by name."""
    return {
        name: tuple(parse_time_interval(spec, f"time_intervals.{name}[{i}]") for i, spec in enumerate(specs))
        for name, specs in cfg.time_intervals.items()
    }


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
        times=_each(m, "times", path, lambda raw: TimeRange(*text.time_range(raw))),
        weekdays=_each(m, "weekdays", path, lambda raw: InclusiveRange(*text.weekday_range(raw))),
        days_of_month=_each(m, "days_of_month", path, lambda raw: InclusiveRange(*text.day_of_month_range(raw))),
        months=_each(m, "months", path, lambda raw: InclusiveRange(*text.month_range(raw))),
        years=_each(m, "years", path, lambda raw: InclusiveRange(*text.year_range(raw))),
        location=None if loc is None else _location(loc, f"{path}.location"),
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


def _location(raw: Any, path: str) -> Location:
    try:
        return Location(*text.load_location(text.scalar(raw)))
    except ValueError as e:
        raise TimeIntervalError(f"{path} ({raw!r})", str(e)) from None


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
