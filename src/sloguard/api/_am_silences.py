"""Alertmanager v2 silences: ``GET``/``POST /api/v2/silences``, ``GET``/``DELETE /api/v2/silence/{id}``.

The silence model and its rules are :mod:`sloguard.alerting.silence_match`'s; writes go
through the service's durable :class:`~sloguard.state.SilenceRepository`, committed before
the answer. Answers are Alertmanager 0.25's: the gettable silence JSON, ``{"silenceID": ...}``,
``"silence not found"`` (404 for POST with an unknown id, 500 for DELETE, an empty 404 for
GET), go-openapi's 422 for a missing field or an id that is not a UUID, and the list
sorted active first (soonest end first), then pending (soonest start first), then expired
(latest end first).

Each write is recorded in the alert history with who made it: the user the server
authenticated, else the silence's ``createdBy`` (POST) or the ``actor`` query parameter
(DELETE), else ``api``.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from sloguard.alerting.service import AlertingService
from sloguard.alerting.silence_match import (
    Silence,
    SilenceError,
    SilenceMatcher,
    SilenceState,
    check_postable,
)
from sloguard.api._am_alerts import DEFAULT_MAX_BODY_BYTES
from sloguard.api._am_body import check_fields, field, parse_failure, read_json, type_error
from sloguard.api._am_http import (
    AmError,
    am_error,
    am_route,
    filter_matchers,
    go_json,
    needs_alerting,
    swagger_error,
)
from sloguard.api._am_time import DateTimeError, format_datetime, parse_datetime
from sloguard.api._rollout_body import actor_of
from sloguard.gofmt import go_quote
from sloguard.labels import Matcher
from sloguard.state import InvalidSilence, NotFound
from sloguard.state.silences import from_ms, to_ms

__all__ = ["routes", "silence_json", "sort_silences"]

_AO0 = 'struct { ID string "json:\\"id,omitempty\\"" }'
_FIELDS = {"matchers": (list, "models.Matchers"), "startsAt": (str, "string"), "endsAt": (str, "string"),
           "createdBy": (str, "string"), "comment": (str, "string")}
_MATCHER_FIELDS = {"name": (str, "string"), "value": (str, "string"), "isRegex": (bool, "bool"), "isEqual": (bool, "bool")}
_STATE_ORDER = {SilenceState.ACTIVE: 0, SilenceState.PENDING: 1, SilenceState.EXPIRED: 2}
_NOT_FOUND = "silence not found"


def routes(ctx: Any) -> list[BaseRoute]:
    needs = needs_alerting(lambda: ctx.alerting)
    limit = int(ctx.settings.get("alerting_max_body_bytes", DEFAULT_MAX_BODY_BYTES))

    @needs
    async def list_silences(request: Request, service: AlertingService) -> Response:
        matchers = filter_matchers(request)
        repo = service.silences
        now = repo.now()
        found = [s for s in await asyncio.to_thread(repo.list) if _has_all(s, matchers)]
        return go_json([silence_json(s, now) for s in sort_silences(found, now)])

    @needs
    async def post_silence(request: Request, service: AlertingService) -> Response:
        silence = decode_silence(await read_json(request, "silence", limit))
        repo = service.silences
        try:
            check_postable(silence, repo.now())
            # in a thread: a database round trip, and each regex matcher compiled and checked
            sid = await asyncio.to_thread(repo.set, silence, actor_of(request, ctx, silence.created_by))
            return go_json({"silenceID": sid})
        except NotFound:
            return am_error(_NOT_FOUND, 404)
        except (SilenceError, InvalidSilence) as e:
            return am_error(str(e))

    @needs
    async def get_silence(request: Request, service: AlertingService) -> Response:
        repo = service.silences
        try:
            return go_json(silence_json(await asyncio.to_thread(repo.get, _silence_id(request)), repo.now()))
        except NotFound:
            return Response(status_code=404)

    @needs
    async def delete_silence(request: Request, service: AlertingService) -> Response:
        try:
            actor = actor_of(request, ctx, request.query_params.get("actor", ""))
            await asyncio.to_thread(service.silences.expire, _silence_id(request), actor)
        except NotFound:
            return am_error(_NOT_FOUND, 500)
        return Response(status_code=200)

    return [
        am_route("/api/v2/silences", {"GET": list_silences, "POST": post_silence}),
        am_route("/api/v2/silence/{silence_id}", {"GET": get_silence, "DELETE": delete_silence}),
    ]


def _silence_id(request: Request) -> str:
    raw = str(request.path_params["silence_id"])
    try:
        uuid.UUID(raw)
    except ValueError:
        raise AmError(swagger_error(422, f"silenceID in path must be of type uuid: {go_quote(raw)}", code=601)) from None
    return raw


def silence_json(s: Silence, now: datetime) -> dict[str, Any]:
    """Alertmanager's gettable silence (its state at ``now``)."""
    return {
        "id": s.id,
        "status": {"state": api_state(s, now).value},
        "updatedAt": format_datetime(to_ms(s.updated_at or s.starts_at)),
        "comment": s.comment,
        "createdBy": s.created_by,
        "endsAt": format_datetime(to_ms(s.ends_at)),
        "matchers": [{"isEqual": m.is_equal, "isRegex": m.is_regex, "name": m.name, "value": m.value}
                     for m in s.matchers],
        "startsAt": format_datetime(to_ms(s.starts_at)),
    }


def api_state(s: Silence, now: datetime) -> SilenceState:
    """The state the API shows (Alertmanager's ``CalcSilenceState``): unlike muting, which
    includes the end instant, a silence ending now already shows as expired."""
    if now < s.starts_at:
        return SilenceState.PENDING
    return SilenceState.ACTIVE if now < s.ends_at else SilenceState.EXPIRED


def sort_silences(silences: list[Silence], now: datetime) -> list[Silence]:
    """Active (soonest end first), pending (soonest start first), expired (latest end first)."""

    def key(s: Silence) -> tuple[int, int]:
        state = api_state(s, now)
        if state is SilenceState.ACTIVE:
            return 0, to_ms(s.ends_at)
        if state is SilenceState.PENDING:
            return 1, to_ms(s.starts_at)
        return 2, -to_ms(s.ends_at)

    return sorted(silences, key=key)


def _has_all(s: Silence, matchers: list[Matcher]) -> bool:
    """Alertmanager's filter on silences: each matcher is one of the silence's, exactly."""
    own = {(m.name, m.type, m.value) for m in s.matchers}
    return all((m.name, m.type, m.value) in own for m in matchers)


def decode_silence(body: Any) -> Silence:
    """A postable silence, or go-openapi's 400/422 for the first thing it refuses."""
    if not isinstance(body, dict):
        raise parse_failure("silence", type_error(body, "Go value", _AO0))
    sid = field(body, "id")
    if sid is not None and not isinstance(sid, str):
        raise parse_failure("silence", type_error(sid, "Go struct field .id", "string"))
    times = {name: _time(field(body, name)) for name in ("startsAt", "endsAt")}
    problem = check_fields(body, _FIELDS, "Silence") or _matchers_error(field(body, "matchers"))
    if problem:
        raise parse_failure("silence", problem)
    _required(body, times)
    return Silence(
        matchers=tuple(_matcher(m) for m in field(body, "matchers")),
        starts_at=from_ms(times["startsAt"] or 0), ends_at=from_ms(times["endsAt"] or 0),
        id=sid or "", created_by=field(body, "createdBy"), comment=field(body, "comment"),
    )


def _time(raw: Any) -> int | None:
    if not isinstance(raw, str):
        return None
    try:
        return parse_datetime(raw)
    except DateTimeError as e:
        raise parse_failure("silence", str(e)) from None


def _matchers_error(matchers: Any) -> str | None:
    if not isinstance(matchers, list):
        return None
    for m in matchers:
        if m is not None and not isinstance(m, dict):
            return type_error(m, "Go struct field Silence.matchers", "models.Matcher")
        problem = check_fields(m or {}, _MATCHER_FIELDS, "Matcher.matchers")
        if problem:
            return problem
    return None


def _required(body: dict[str, Any], times: dict[str, int | None]) -> None:
    """go-openapi's schema checks, in its order (fields by name; first failure only)."""
    for name in ("comment", "createdBy", "endsAt", "matchers", "startsAt"):
        value: Any = times[name] if name in times else field(body, name)
        if value is None:
            raise AmError(swagger_error(422, f"{name} in body is required", code=602))
        if name == "matchers":
            _check_matchers(value)


def _check_matchers(matchers: list[Any]) -> None:
    if not matchers:
        raise AmError(swagger_error(422, "matchers in body should have at least 1 items", code=612))
    for i, m in enumerate(matchers):
        for name in ("isRegex", "name", "value"):
            if field(m or {}, name) is None:
                raise AmError(swagger_error(422, f"matchers.{i}.{name} in body is required", code=602))


def _matcher(m: dict[str, Any]) -> SilenceMatcher:
    is_equal = field(m, "isEqual")
    return SilenceMatcher(field(m, "name"), field(m, "value"), bool(field(m, "isRegex")),
                          True if is_equal is None else bool(is_equal))
