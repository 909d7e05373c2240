"""Calendar period fields shared by the spec readers and dumpers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sloguard.slo._calendar import zone
from sloguard.slo._reader import Reader
from sloguard.slo.model import CalendarUnit

#: OpenSLO's calendar ``duration`` for each unit (``1M`` is also read as ``1mo``).
OPENSLO_CALENDAR = {CalendarUnit.WEEK: "1w", CalendarUnit.MONTH: "1M", CalendarUnit.QUARTER: "1Q"}


def checked_timezone(r: Reader, m: Mapping[str, Any], key: str, path: str) -> str:
    """The IANA zone at ``path.key`` (default UTC); an unknown one is a problem naming it."""
    tz = r.str_(m, key, path, default="UTC")
    try:
        zone(tz)
    except ValueError as e:
        r.problem(f"{path}.{key}", str(e))
        return "UTC"
    return tz
