"""Shared helpers for Prometheus-compatible HTTP handlers.

Every ``/api/v1`` handler answers in Prometheus' envelope::

    {"status": "success", "data": ..., "warnings": [...]}          # 200
    {"status": "error", "errorType": "bad_data", "error": "..."}   # 400, 422, 503, ...

Handlers raise :class:`ApiError` (or let a ``PromQLError`` escape) and wrap themselves
with :func:`api_endpoint`, which turns both into the error envelope with Prometheus'
status code for the error type. Time and matcher parameters are parsed exactly as
Prometheus parses them (``parse_time_param``, ``parse_matchers_param``), with the same
error wording.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sloguard.gofmt import go_quote as go_quote  # re-exported: api modules quote through _http
from sloguard.labels import Matcher
from sloguard.promql import ErrorType, PromQLError, parse_matchers_text

#: Prometheus' ``MinTime``/``MaxTime`` (the API's default start/end), in milliseconds.
MIN_TIME_MS = -9223309901257974000
MAX_TIME_MS = 9223309901257974999
#: How Prometheus prints ``MinTime``/``MaxTime``; both are accepted as time parameters.
MIN_TIME_FORMATTED = "-292273086-05-16T16:47:06Z"
MAX_TIME_FORMATTED = "292277025-08-18T07:12:54.999999999Z"

#: HTTP status per error type, as in Prometheus' ``web/api/v1`` ``respondError``.
ERROR_STATUS: dict[ErrorType, int] = {
    ErrorType.BAD_DATA: 400,
    ErrorType.EXECUTION: 422,
    ErrorType.CANCELED: 503,
    ErrorType.TIMEOUT: 503,
    ErrorType.INTERNAL: 500,
    ErrorType.NOT_FOUND: 404,
    ErrorType.UNAVAILABLE: 503,
}

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Handler = Callable[[Request], Awaitable[Response]]


#: Largest form body ``Params.of`` reads (Go's ``ParseForm`` stops at 10 MiB too);
#: ``ctx.settings["max_body_bytes"]`` (``query.max_body_bytes``) overrides it.
DEFAULT_MAX_BODY_BYTES = 10 << 20


class ApiError(Exception):
    """A request the API refuses; becomes the Prometheus error envelope (with ``status``
    instead of the error type's own code when given, e.g. 413)."""

    def __init__(self, message: str, error_type: ErrorType = ErrorType.BAD_DATA, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.error_type = error_type
        self.status = status


def success(data: Any, warnings: Sequence[str] = ()) -> JSONResponse:
    """``{"status":"success","data":...}``; ``warnings`` only when there are some."""
    body: dict[str, Any] = {"status": "success", "data": data}
    if warnings:
        body["warnings"] = list(warnings)
    return JSONResponse(body)


def error(
    message: str, error_type: ErrorType = ErrorType.BAD_DATA, data: Any = None, status: int | None = None
) -> JSONResponse:
    """The error envelope with Prometheus' status code for ``error_type`` (or ``status``)."""
    body: dict[str, Any] = {"status": "error", "errorType": error_type.value, "error": message}
    if data is not None:
        body["data"] = data
    return JSONResponse(body, status_code=status or ERROR_STATUS.get(error_type, 500))


def api_endpoint(handler: Handler) -> Handler:
    """Wrap a handler so ``ApiError``/``PromQLError`` become the error envelope."""

    @functools.wraps(handler)
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as e:
            return error(e.message, e.error_type, status=e.status)
        except PromQLError as e:
            return error(str(e), e.error_type)

    return wrapped


class Params:
    """A request's parameters: the URL query plus, for POST, the urlencoded form body.

    Like Go's ``r.Form``, body values come before query values for the same key. The
    body is read in chunks and refused with 413 once it passes the server's
    ``max_body_bytes``, before it is all buffered.
    """

    def __init__(self, values: dict[str, list[str]]) -> None:
        self._values = values

    @classmethod
    async def of(cls, request: Request) -> Params:
        values: dict[str, list[str]] = {}
        ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if request.method == "POST" and ctype == "application/x-www-form-urlencoded":
            body = (await read_body(request, max_body_bytes(request))).decode("utf-8", errors="replace")
            for k, v in parse_qsl(body, keep_blank_values=True):
                values.setdefault(k, []).append(v)
        for k, v in request.query_params.multi_items():
            values.setdefault(k, []).append(v)
        return cls(values)

    def get(self, name: str) -> str:
        """The first value of ``name``, or ``""`` (Go's ``FormValue``)."""
        vs = self._values.get(name)
        return vs[0] if vs else ""

    def get_list(self, name: str) -> list[str]:
        return list(self._values.get(name, []))


def max_body_bytes(request: Request) -> int:
    """The server's form-body limit (``ctx.settings["max_body_bytes"]``)."""
    ctx = getattr(request.app.state, "ctx", None) if "app" in request.scope else None
    settings = getattr(ctx, "settings", None) or {}
    return int(settings.get("max_body_bytes", DEFAULT_MAX_BODY_BYTES))


_QUERY_LIMIT = "query.max_body_bytes, --query.max-body-bytes"


async def read_body(request: Request, limit: int, setting: str | None = _QUERY_LIMIT) -> bytes:
    """The request body, read chunk by chunk; 413 as soon as it passes ``limit`` bytes
    (at once when ``Content-Length`` says so), naming the ``setting`` that sets it."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit, setting)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit, setting)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int, setting: str | None) -> ApiError:
    return ApiError(
        f"request body is larger than the limit of {limit:,} bytes" + (f" ({setting})" if setting else ""),
        ErrorType.BAD_DATA, status=413,
    )


def parse_time(s: str) -> int:
    """Parse a Prometheus API timestamp (float unix seconds or RFC3339) to milliseconds.

    Raises ``ValueError("cannot parse \\"s\\" to a valid timestamp")`` like Prometheus.
    """
    try:
        f = float(s)
    except ValueError:
        f = None
    if f is not None and "_" not in s and s == s.strip():  # Go rejects both
        return _float_seconds_to_ms(f)
    if s == MIN_TIME_FORMATTED:
        return MIN_TIME_MS
    if s == MAX_TIME_FORMATTED:
        return MAX_TIME_MS
    ms = _rfc3339_to_ms(s)
    if ms is None:
        raise ValueError(f"cannot parse {go_quote(s)} to a valid timestamp")
    return ms


def _float_seconds_to_ms(f: float) -> int:
    if math.isnan(f):
        return MIN_TIME_MS
    if math.isinf(f):
        return MAX_TIME_MS if f > 0 else MIN_TIME_MS
    frac, whole = math.modf(f)
    ms = int(whole) * 1000 + round(frac * 1000)
    return max(MIN_TIME_MS, min(MAX_TIME_MS, ms))


def _rfc3339_to_ms(s: str) -> int | None:
    m = _RFC3339.fullmatch(s)
    if m is None:
        return None
    year, month, day, hour, minute, second, frac, zone = m.groups()
    try:
        tz = UTC
        if zone != "Z":
            sign = 1 if zone[0] == "+" else -1
            tz = timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
        dt = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=tz)
    except ValueError:
        return None
    delta = dt - _EPOCH
    ms = (delta.days * 86400 + delta.seconds) * 1000
    return ms + (int((frac or "0")[:3].ljust(3, "0")))


def parse_time_param(params: Params, name: str, default: int) -> int:
    """Parse time parameter ``name`` (ms); ``default`` when absent.

    The error reads as Prometheus': ``invalid parameter "start": Invalid time value for
    'start': cannot parse "x" to a valid timestamp``.
    """
    raw = params.get(name)
    if raw == "":
        return default
    try:
        return parse_time(raw)
    except ValueError as e:
        raise ApiError(
            f"invalid parameter {go_quote(name)}: Invalid time value for '{name}': {e}"
        ) from None


def parse_matchers_param(selectors: Sequence[str], param_prefix: bool = True) -> list[list[Matcher]]:
    """Parse ``match[]`` selectors into matcher sets.

    Prometheus prefixes the error with ``invalid parameter "match[]": `` for
    ``/series`` but not for ``/labels`` and ``/label/<name>/values``; ``param_prefix``
    chooses.
    """
    out: list[list[Matcher]] = []
    for sel in selectors:
        try:
            out.append(parse_matchers_text(sel))
        except ValueError as e:
            msg = _strip_selector_prefix(str(e), sel)
            raise ApiError(f'invalid parameter "match[]": {msg}' if param_prefix else msg) from None
    return out


def _strip_selector_prefix(msg: str, selector: str) -> str:
    prefix = f"invalid series selector {selector!r}: "
    msg = msg[len(prefix):] if msg.startswith(prefix) else msg
    if "must contain at least one non-empty matcher" in msg:
        return "match[] must contain at least one non-empty matcher"  # Prometheus' wording
    return msg
