"""``GET /api/v1/alerts/history``: the alert history (alerts fired and resolved, silences
created, updated and expired, with who did it) of a time range, in the Prometheus envelope.

Parameters: ``start`` and ``end`` (RFC3339 or Unix seconds; default the last day), ``limit``
(the latest events past it; default and most :data:`~sloguard.state.alert_history.MAX_QUERY_ROWS`)
and any number of ``match[]`` series selectors. With selectors, an alert event is kept
when its labels match one of them, and a silence event when the silence mutes the labels
of a kept alert event, or when each of its matchers is on a label a selector fixes with
``=`` and accepts that value (``{slo="x"}`` keeps a silence on ``slo="x"``, not one on
``alertname="Other"``). Events come oldest first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sloguard.alerting.silence_match import Silence, SilenceMatcher
from sloguard.api._am_time import format_datetime
from sloguard.api._context import ServerContext
from sloguard.api._http import (
    ApiError,
    Params,
    api_endpoint,
    parse_matchers_param,
    parse_time_param,
    success,
)
from sloguard.labels import Matcher, MatchType
from sloguard.promql import ErrorType
from sloguard.state import HistoryEvent, StateError
from sloguard.state.alert_history import MAX_QUERY_ROWS
from sloguard.state.silences import from_ms

__all__ = ["event_json", "routes", "select_events"]

_DAY_MS = 86_400_000


def _alert_matches(labels: Mapping[str, str], selectors: Sequence[Sequence[Matcher]]) -> bool:
    return any(all(m.matches(labels.get(m.name, "")) for m in sel) for sel in selectors)


def _fixed_by(matchers: Sequence[SilenceMatcher], sel: Sequence[Matcher]) -> bool:
    fixed = {m.name: m.value for m in sel if m.type is MatchType.EQUAL}
    return bool(matchers) and all(
        m.name in fixed and Silence((m,), from_ms(0), from_ms(0)).matches({m.name: fixed[m.name]}) for m in matchers)


def select_events(events: Sequence[HistoryEvent], selectors: Sequence[Sequence[Matcher]]) -> list[HistoryEvent]:
    """The events the selectors keep (all of them without selectors), in their order."""
    if not selectors:
        return list(events)
    alerts = [e for e in events if not e.kind.is_silence and _alert_matches(e.labels, selectors)]
    label_sets = {tuple(sorted(e.labels.items())) for e in alerts}
    kept = {id(e) for e in alerts}
    for e in events:
        if not e.kind.is_silence:
            continue
        silence = Silence(e.matchers, from_ms(0), from_ms(0))
        if any(_fixed_by(e.matchers, sel) for sel in selectors) or any(silence.matches(dict(ls)) for ls in label_sets):
            kept.add(id(e))
    return [e for e in events if id(e) in kept]


def event_json(e: HistoryEvent) -> dict[str, Any]:
    """One event as the API gives it."""
    out: dict[str, Any] = {"time": format_datetime(e.time), "kind": e.kind.value, "key": e.key}
    if e.kind.is_silence:
        out["matchers"] = [{"name": m.name, "value": m.value, "isRegex": m.is_regex, "isEqual": m.is_equal}
                           for m in e.matchers]
        out.update(createdBy=e.created_by, comment=e.comment, actor=e.actor)
    else:
        out["labels"] = dict(e.labels)
    out.update(startsAt=format_datetime(e.starts_at), endsAt=format_datetime(e.ends_at) if e.ends_at else None)
    return out


def _limit(params: Params) -> int:
    raw = params.get("limit")
    if not raw:
        return MAX_QUERY_ROWS
    if not raw.isdigit() or not 0 < int(raw) <= MAX_QUERY_ROWS:
        raise ApiError(f"invalid parameter \"limit\": {raw!r} is not a whole number from 1 to {MAX_QUERY_ROWS}")
    return int(raw)


def routes(ctx: ServerContext) -> list[BaseRoute]:
    """The alert history route bound to ``ctx``."""

    @api_endpoint
    async def history(request: Request) -> Response:
        service = ctx.alerting
        if service is None:
            raise ApiError("The alerting pipeline is not running, so there is no alert history.",
                           ErrorType.UNAVAILABLE, status=503)
        params = await Params.of(request)
        end = parse_time_param(params, "end", service.now_ms())
        start = parse_time_param(params, "start", end - _DAY_MS)
        if end < start:
            raise ApiError("invalid parameter \"end\": end timestamp must not be before start time")
        selectors = parse_matchers_param(params.get_list("match[]"))
        try:
            events = await asyncio.to_thread(service.alert_history.query, start, end, _limit(params))
        except StateError as e:
            raise ApiError(f"The alert history could not be read: {e}", ErrorType.UNAVAILABLE, status=503) from None
        return success([event_json(e) for e in select_events(events, selectors)])

    return [Route("/api/v1/alerts/history", history, methods=["GET", "POST"])]
