"""What every Alertmanager v2 endpoint shares: Go-style JSON answers, Alertmanager's two
error shapes, method dispatch with go-openapi's 405, query parameters, the disabled answer.

Alertmanager answers an error in one of two shapes: a handler's own error is a bare JSON
string (``"bad matcher format: foo"``); an error go-openapi found before the handler ran
(a body it could not decode, a missing required field, a path parameter of the wrong
format, an unknown path or method) is ``{"code": N, "message": "..."}``. A state database
that cannot be reached is a 500 naming why, as Alertmanager answers a failed silence query.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sloguard.alerting import MatcherParseError, parse_matcher
from sloguard.alerting.service import AlertingService
from sloguard.labels import GoRegex, GoRegexError, Matcher, compile_go
from sloguard.state import StateError

Handler = Callable[[Request], Awaitable[Response]]

#: What a client is told when the server runs without an alerting pipeline.
DISABLED = (
    "The Alertmanager API is not enabled: this sloguard runs no alerting pipeline. Start it with "
    "--alerting.config FILE (or alerting_config_file: in the server config) to enable it."
)

#: go-openapi's truthy words for a boolean query parameter; any other value is false.
_CORS_METHODS = frozenset({"GET", "POST", "HEAD"})
_CORS_HEADERS = frozenset({"Origin", "Accept", "Content-Type", "X-Requested-With"})
_TRUE = frozenset({"true", "1", "yes", "ok", "y", "on", "selected", "checked", "t", "enabled"})


T = TypeVar("T")


def go_json(data: Any, status: int = 200) -> Response:
    """JSON as Go's ``encoding/json`` writes it: UTF-8, ``<``, ``>``, ``&`` escaped."""
    return go_json_text(go_text(data), status)


def go_json_text(text: str, status: int = 200) -> Response:
    """An answer of JSON text made by :func:`go_text` (and :func:`go_array_text`)."""
    return Response(text + "\n", status_code=status, media_type="application/json")


def go_text(data: Any) -> str:
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


#: Alerts worked on in one step of the event loop (Prometheus sends 64 in a request at most).
SLICE = 1000
#: How long one slice of :func:`in_slices` should hold the event loop at most.
STEP_BUDGET_S = 0.02
#: The size of the first slice, before the time one takes is known.
FIRST_SLICE = 64


async def in_slices(items: Sequence[T], first: int | None = FIRST_SLICE) -> AsyncIterator[Sequence[T]]:
    """``items`` in slices of at most ``SLICE``, with a turn for the rest of the event loop
    between them: taking or answering with 150,000 alerts takes seconds, and never holds up
    the other requests (or the health check) for that long. A slice whose work took longer
    than ``STEP_BUDGET_S`` makes the next ones smaller (down to one item), as judging an
    alert against thousands of silences can take milliseconds; the first (``first`` items,
    None: ``SLICE``) is small, and fast slices grow (doubling) back to ``SLICE``."""
    size, start = min(SLICE, first or SLICE), 0
    while start < len(items):
        if start:
            await asyncio.sleep(0)
        began = time.perf_counter()
        part = items[start:start + size]
        yield part
        start += len(part)
        took = time.perf_counter() - began
        if took > STEP_BUDGET_S:
            size = max(1, int(size * STEP_BUDGET_S / took))
        elif size < SLICE:
            size = min(SLICE, 2 * size)


async def go_array_text(items: Sequence[T], encode: Callable[[T], Any]) -> str:
    """The JSON array of ``encode(item)`` for ``items``, as :func:`go_text` writes it, a
    slice a step of the event loop (:func:`in_slices`)."""
    parts = [go_text([encode(x) for x in part])[1:-1] async for part in in_slices(items)]
    return "[" + ",".join(parts) + "]"


def am_error(message: str, status: int = 400) -> Response:
    """A handler's error: the message as a JSON string."""
    return go_json(message, status)


def swagger_error(status: int, message: str, code: int | None = None) -> Response:
    """go-openapi's error: ``{"code": ..., "message": ...}`` (``code`` defaults to the status)."""
    return go_json({"code": code if code is not None else status, "message": message}, status)


class AmError(Exception):
    """Raised by a handler's helpers; carries the complete answer."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.body)
        self.response = response


def am_route(path: str, handlers: Mapping[str, Handler]) -> Route:
    """One path with its handlers by method; any other method gets go-openapi's 405. CORS
    as Alertmanager's (``rs/cors`` defaults: any origin, GET/POST/HEAD)."""
    allowed = ",".join(sorted(handlers))

    async def endpoint(request: Request) -> Response:
        if _is_preflight(request):
            return _preflight(request)
        handler = handlers.get(request.method)
        if handler is None:
            resp = swagger_error(405, f"method {request.method} is not allowed, but [{allowed}] are")
            resp.headers["Allow"] = allowed
        else:
            resp = await _answer(handler, request)
        resp.headers.append("Vary", "Origin")
        if "origin" in request.headers and request.method in _CORS_METHODS:
            resp.headers["Access-Control-Allow-Origin"] = "*"
        return resp

    return Route(path, endpoint, methods=["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"])


async def _answer(handler: Handler, request: Request) -> Response:
    try:
        return await handler(request)
    except AmError as e:
        return e.response
    except StateError as e:  # the state database is away: Alertmanager's 500, with why
        return am_error(str(e), 500)


def _is_preflight(request: Request) -> bool:
    h = request.headers
    return request.method == "OPTIONS" and "origin" in h and "access-control-request-method" in h


def _preflight(request: Request) -> Response:
    resp = Response(status_code=200)
    for v in ("Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers"):
        resp.headers.append("Vary", v)
    method = request.headers["access-control-request-method"].upper()
    wanted = [h.strip().title() for h in request.headers.get("access-control-request-headers", "").split(",") if h.strip()]
    if method not in _CORS_METHODS or not set(wanted) <= _CORS_HEADERS:
        return resp
    resp.headers["Access-Control-Allow-Origin"] = "*"
    resp.headers["Access-Control-Allow-Methods"] = method
    if wanted:
        resp.headers["Access-Control-Allow-Headers"] = ", ".join(wanted)
    return resp


def needs_alerting(get: Callable[[], AlertingService | None]) -> Callable[[Callable[[Request, AlertingService], Awaitable[Response]]], Handler]:
    """Wrap a handler that needs the pipeline: 503 with how to enable it when there is none."""

    def wrap(handler: Callable[[Request, AlertingService], Awaitable[Response]]) -> Handler:
        @functools.wraps(handler)
        async def wrapped(request: Request) -> Response:
            service = get()
            if service is None:
                return swagger_error(503, DISABLED)
            return await handler(request, service)

        return wrapped

    return wrap


def bool_param(request: Request, name: str) -> bool:
    """A boolean query parameter as go-openapi reads it (absent or empty: true, the spec's default)."""
    raw = request.query_params.get(name, "")
    return raw == "" or raw.lower() in _TRUE


def filter_matchers(request: Request) -> list[Matcher]:
    """The ``filter`` parameters as matchers; 400 with Alertmanager's text for a bad one."""
    try:
        return [parse_matcher(text) for text in request.query_params.getlist("filter")]
    except MatcherParseError as e:
        raise AmError(am_error(str(e))) from None


def receiver_regex(request: Request) -> GoRegex | None:
    """The ``receiver`` parameter, anchored as Alertmanager anchors it."""
    if request.query_params.get("receiver", "") == "":  # empty: no filter, as go-openapi binds it
        return None
    try:
        return compile_go("^(?:" + request.query_params["receiver"] + ")$")
    except GoRegexError as e:
        raise AmError(am_error(f"failed to parse receiver param: {e}")) from None
