"""Go's ``time.Time`` as notification templates see it: ``.Format "2006-01-02"``, ``.IsZero``,
``.Unix``, and the zero time of firing alerts' ``EndsAt`` (times are UTC)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from sloguard.rules.template import GoTime

__all__ = ["ZERO_TIME_NS", "AlertTime", "go_format"]

#: Go's zero ``time.Time`` (0001-01-01T00:00:00Z) in Unix nanoseconds.
ZERO_TIME_NS = -62135596800 * 1_000_000_000

# Go's layout elements, longest first where one is a prefix of another (time.nextStdChunk).
_STD = re.compile(
    r"January|Jan|Monday|Mon|MST|2006|002|_2|01|02|03|04|05|06|15|PM|pm"
    r"|Z07:00:00|Z070000|Z07:00|Z0700|Z07|-07:00:00|-070000|-07:00|-0700|-07"
    r"|[.,](?:0+|9+)(?!\d)|1|2|3|4|5"
)


def _dt(ns: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ns // 1000)


def _hour12(d: datetime) -> int:
    return d.hour % 12 or 12


def _fraction(tok: str, ns: int) -> str:
    digits = f"{ns % 1_000_000_000:09d}"[: len(tok) - 1]
    if tok[1] == "9":
        digits = digits.rstrip("0")
        return tok[0] + digits if digits else ""
    return tok[0] + digits


_ELEMENTS: dict[str, Callable[[datetime], str]] = {
    "January": lambda d: d.strftime("%B"), "Jan": lambda d: d.strftime("%b"),
    "Monday": lambda d: d.strftime("%A"), "Mon": lambda d: d.strftime("%a"), "MST": lambda d: "UTC",
    "2006": lambda d: f"{d.year:04d}", "06": lambda d: f"{d.year % 100:02d}",
    "01": lambda d: f"{d.month:02d}", "1": lambda d: str(d.month),
    "02": lambda d: f"{d.day:02d}", "_2": lambda d: f"{d.day:2d}", "2": lambda d: str(d.day),
    "002": lambda d: f"{d.timetuple().tm_yday:03d}",
    "15": lambda d: f"{d.hour:02d}", "03": lambda d: f"{_hour12(d):02d}", "3": lambda d: str(_hour12(d)),
    "04": lambda d: f"{d.minute:02d}", "4": lambda d: str(d.minute),
    "05": lambda d: f"{d.second:02d}", "5": lambda d: str(d.second),
    "PM": lambda d: "PM" if d.hour >= 12 else "AM", "pm": lambda d: "pm" if d.hour >= 12 else "am",
    "-07:00:00": lambda d: "+00:00:00", "-070000": lambda d: "+000000", "-07:00": lambda d: "+00:00",
    "-0700": lambda d: "+0000", "-07": lambda d: "+00",
}


def go_format(ns: int, layout: str) -> str:
    """``time.Unix(0, ns).UTC().Format(layout)``."""
    d = _dt(ns)

    def one(m: re.Match[str]) -> str:
        tok = m.group(0)
        if tok[0] in ".,":
            return _fraction(tok, ns)
        if tok.startswith("Z"):
            return "Z"
        return _ELEMENTS[tok](d)

    return _STD.sub(one, layout)


@dataclass(frozen=True, slots=True)
class AlertTime(GoTime):
    """A ``time.Time`` with the methods templates call on alert times."""

    GO_TYPE: ClassVar[str] = "time.Time"
    GO_METHODS: ClassVar[dict[str, str]] = {
        "Format": "format", "IsZero": "is_zero", "Unix": "unix", "UnixMilli": "unix_milli", "UTC": "utc",
        "String": "__str__",
    }

    def __str__(self) -> str:
        """Go's ``t.String()``: ``2006-01-02 15:04:05.999999999 -0700 MST``."""
        return go_format(self.ns, "2006-01-02 15:04:05.999999999 -0700 MST")

    def format(self, layout: str) -> str:
        return go_format(self.ns, layout)

    def is_zero(self) -> bool:
        return self.ns == ZERO_TIME_NS

    def unix(self) -> int:
        return self.ns // 1_000_000_000

    def unix_milli(self) -> int:
        return self.ns // 1_000_000

    def utc(self) -> AlertTime:
        return self
