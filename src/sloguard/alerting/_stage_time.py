"""The route's time intervals: :class:`TimeActiveStage` stops a flush outside the route's
``active_time_intervals``, :class:`TimeMuteStage` one inside its ``mute_time_intervals``,
both judged at the flush's ``now_ms`` in UTC (as Alertmanager's pipeline does)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from sloguard.alerting.model import Alert
from sloguard.alerting.stages import FlushContext, Instant, StageError
from sloguard.alerting.timeinterval import TimeInterval, TimeIntervalError, in_time_intervals

__all__ = ["TimeActiveStage", "TimeMuteStage"]

log = logging.getLogger("sloguard.alerting")

Intervals = Mapping[str, Sequence[TimeInterval]]


def _inside(intervals: Intervals, ctx: FlushContext, names: Sequence[str]) -> bool:
    now = datetime.fromtimestamp(ctx.now_ms / 1000, UTC)
    try:
        return in_time_intervals(now, intervals, names)
    except TimeIntervalError as e:
        raise StageError(f"The route of group {ctx.group_key} names an unknown time interval: {e.reason}.") from e


class TimeActiveStage(Instant):
    """Without ``active_time_intervals`` the route is always active; with them, nothing is
    sent while ``now`` lies outside every one."""

    __slots__ = ("intervals",)

    def __init__(self, intervals: Intervals) -> None:
        self.intervals = intervals

    def run(self, ctx: FlushContext, alerts: Sequence[Alert]) -> tuple[FlushContext, list[Alert]]:
        names = ctx.route.active_time_intervals
        if not names or _inside(self.intervals, ctx, names):
            return ctx, list(alerts)
        log.debug("notifications not sent, route is not within active time", extra={"group": ctx.group_key})
        return ctx, []


class TimeMuteStage(Instant):
    """Nothing is sent while ``now`` lies inside one of the route's ``mute_time_intervals``."""

    __slots__ = ("intervals",)

    def __init__(self, intervals: Intervals) -> None:
        self.intervals = intervals

    def run(self, ctx: FlushContext, alerts: Sequence[Alert]) -> tuple[FlushContext, list[Alert]]:
        names = ctx.route.mute_time_intervals
        if names and _inside(self.intervals, ctx, names):
            log.debug("notifications not sent, route is within mute time", extra={"group": ctx.group_key})
            return ctx, []
        return ctx, list(alerts)
