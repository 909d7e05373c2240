"""Prometheus' query endpoints: ``/api/v1/query``, ``/query_range``, ``/format_query``,
``/query_exemplars``, plus the status and metadata endpoints Grafana calls on connect.

Queries run in worker threads (numpy releases the GIL) behind a concurrency limit like
``--query.max-concurrency``; the JSON body is written (and gzipped, when the client
accepts it) in the same thread. A query that
outlives its timeout by far (an engine that does not check its deadline) is abandoned and
answered with Prometheus' timeout error, so no expression can hang the server.

Settings read from ``ctx.settings``: ``clock`` (seconds, default ``time.time``),
``query_timeout`` (seconds, 120), ``query_max_concurrency`` (20), ``query_timeout_grace``
(seconds an engine may overrun its timeout before it is abandoned, 2),
``query_memory_limit`` (bytes of process RSS above which new queries get 503; 0: none)
and ``rss`` (how RSS is read, for tests).

When the API gives up on a query (its timeout passed, or the client went away), it sets
the query's cancel event, so an engine that takes one (``cancel=``) stops at its next
check and frees its arrays instead of running on in an abandoned thread.
"""

from __future__ import annotations

import gzip
import inspect
import threading
import time
from collections.abc import Callable
from typing import Any

import anyio
import anyio.to_thread
import promql_parser
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sloguard.api._context import ServerContext
from sloguard.api._http import (
    MAX_TIME_MS,
    MIN_TIME_MS,
    ApiError,
    Params,
    api_endpoint,
    error,
    parse_time_param,
    success,
)
from sloguard.api._memory import over_limit_message, rss_bytes
from sloguard.api._query_params import InstantParams, RangeParams, instant_params, range_params
from sloguard.api._query_status import status_routes
from sloguard.promql import ErrorType, ParseError, PromQLError, QueryResult
from sloguard.promql import functions as _functions  # noqa: F401 - registers holt_winters etc. with promql-parser
from sloguard.promql._ast import parse as check_expr
from sloguard.promql._format import query_response_json

DEFAULT_TIMEOUT_S = 120.0
DEFAULT_MAX_CONCURRENCY = 20
#: An engine gets this much longer than the timeout before the API gives up on it.
_GRACE = 2.0
_TIMEOUT_TEXT = "query timed out in expression evaluation"
_CANCELED_TEXT = "query was canceled in expression evaluation"
#: How often a running query checks whether its client is still connected (seconds).
_DISCONNECT_POLL = 0.25
#: Results are gzipped when the client accepts it (as Prometheus does); level 1 keeps the
#: CPU cost to a few ms per MB while still shrinking JSON about tenfold.
_GZIP_LEVEL = 1


def parse_error_text(expr: str, exc: BaseException) -> str:
    """The engine's ``parse error: <msg>`` text for a promql-parser error."""
    if not expr.strip():
        return "parse error: no expression found in input"
    msg = str(exc)
    return msg if "parse error" in msg else f"parse error: {msg}"


def _is_panic(e: BaseException) -> bool:
    """The Rust parser's ``PanicException`` derives from ``BaseException``."""
    return type(e).__name__ == "PanicException"


class QueryAPI:
    """The query handlers over ``ctx.engine`` (any ``sloguard.promql.Engine``)."""

    def __init__(self, ctx: ServerContext) -> None:
        self._ctx = ctx
        settings = ctx.settings
        self._clock: Callable[[], float] = settings.get("clock", time.time)
        self._timeout = float(settings.get("query_timeout", DEFAULT_TIMEOUT_S))
        limit = int(settings.get("query_max_concurrency", DEFAULT_MAX_CONCURRENCY))
        self._limiter = anyio.CapacityLimiter(limit)
        self._grace = float(settings.get("query_timeout_grace", _GRACE))
        self._memory_limit = int(settings.get("query_memory_limit", 0))
        self._rss: Callable[[], int] = settings.get("rss", rss_bytes)

    def _check_memory(self) -> None:
        """New queries get 503 while the process is over its memory ceiling."""
        if self._memory_limit <= 0:
            return
        rss = self._rss()
        if rss > self._memory_limit:
            raise ApiError(over_limit_message(rss, self._memory_limit), ErrorType.UNAVAILABLE)

    def _effective_timeout(self, requested: float | None) -> float:
        if requested is None or requested <= 0:
            return self._timeout
        return min(requested, self._timeout)

    def _engine(self) -> Any:
        if self._ctx.engine is None:
            raise ApiError("The query engine is not configured on this server.", ErrorType.UNAVAILABLE)
        self._check_memory()
        return self._ctx.engine

    async def _execute(
        self, request: Request, run: Callable[[threading.Event], QueryResult], timeout: float
    ) -> Response:
        gzipped = "gzip" in request.headers.get("accept-encoding", "")
        cancel = threading.Event()

        def work() -> bytes:
            body = query_response_json(run(cancel)).encode("utf-8", "replace")
            return gzip.compress(body, compresslevel=_GZIP_LEVEL, mtime=0) if gzipped else body

        try:
            body = await self._run_cancellable(request, work, timeout, cancel)
        except TimeoutError:
            return error(_TIMEOUT_TEXT, ErrorType.TIMEOUT)
        except PromQLError:
            raise
        except BaseException as e:  # an engine bug answers like a recovered Go panic, not a 500
            if not isinstance(e, Exception) and not _is_panic(e):
                raise
            return error(f"unexpected error: {type(e).__name__}: {e}", ErrorType.EXECUTION)
        if body is None:
            return error(_CANCELED_TEXT, ErrorType.CANCELED)
        headers = {"Content-Encoding": "gzip", "Vary": "Accept-Encoding"} if gzipped else None
        return Response(body, media_type="application/json", headers=headers)

    async def _run_cancellable(
        self, request: Request, work: Callable[[], bytes], timeout: float, cancel: threading.Event
    ) -> bytes | None:
        """``work`` in a worker thread; ``None`` if the client went away. Whatever ends
        the wait (result, timeout, disconnect) sets ``cancel`` for the engine."""
        outcome: list[tuple[bool, Any]] = []

        def guarded() -> None:  # errors cross the task group as values, not exception groups
            try:
                outcome.append((True, work()))
            except BaseException as e:
                outcome.append((False, e))

        try:
            with anyio.fail_after(timeout + self._grace):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(_watch_disconnect, request, cancel, tg.cancel_scope)
                    await anyio.to_thread.run_sync(guarded, limiter=self._limiter, abandon_on_cancel=True)
                    tg.cancel_scope.cancel()
        finally:
            cancel.set()
        if not outcome:
            return None
        ok, value = outcome[0]
        if not ok:
            raise value
        return bytes(value)

    def _call(self, method: Callable[..., QueryResult], *args: Any) -> Callable[[threading.Event], QueryResult]:
        """``method(*args)``, with ``cancel=`` when the engine takes it."""
        takes_cancel = "cancel" in inspect.signature(method).parameters
        return lambda cancel: method(*args, cancel=cancel) if takes_cancel else method(*args)

    async def query(self, request: Request) -> Response:
        p: InstantParams = instant_params(await Params.of(request), int(self._clock() * 1000))
        engine = self._engine()
        timeout = self._effective_timeout(p.timeout)
        try:
            return await self._execute(request, self._call(engine.instant_query, p.query, p.time, timeout), timeout)
        except ParseError as e:
            raise ApiError(f'invalid parameter "query": {e}') from None

    async def query_range(self, request: Request) -> Response:
        p: RangeParams = range_params(await Params.of(request))
        engine = self._engine()
        timeout = self._effective_timeout(p.timeout)
        run = self._call(engine.range_query, p.query, p.start, p.end, p.step, timeout)
        return await self._execute(request, run, timeout)

    async def format_query(self, request: Request) -> Response:
        expr = (await Params.of(request)).get("query")
        try:
            pretty = await anyio.to_thread.run_sync(_prettify, expr)
        except _ParseFailed as e:
            raise ApiError(f'invalid parameter "query": {e}') from None
        return success(pretty)

    async def query_exemplars(self, request: Request) -> Response:
        params = await Params.of(request)
        start = parse_time_param(params, "start", MIN_TIME_MS)
        end = parse_time_param(params, "end", MAX_TIME_MS)
        if end < start:
            raise ApiError("end timestamp must not be before start timestamp")
        expr = params.get("query")
        try:
            has_selector = await anyio.to_thread.run_sync(_parses_with_selector, expr)
        except _ParseFailed as e:
            raise ApiError(str(e)) from None
        if not has_selector:
            return Response(status_code=204)
        return success([])  # sloguard stores no exemplars


async def _watch_disconnect(request: Request, cancel: threading.Event, scope: anyio.CancelScope) -> None:
    """Cancel the query (and stop waiting for it) once its client has gone."""
    while not cancel.is_set():
        await anyio.sleep(_DISCONNECT_POLL)
        if await request.is_disconnected():
            cancel.set()
            scope.cancel()


class _ParseFailed(Exception):
    pass


def _prettify(expr: str) -> str:
    """``/format_query``'s answer (run in a worker thread: parsing may take a while)."""
    return str(_parse(expr).prettify())


def _parses_with_selector(expr: str) -> bool:
    """Whether ``expr`` has a selector, for ``/query_exemplars`` (run in a worker thread)."""
    return _has_selector(_parse(expr))


def _parse(expr: str) -> Any:
    """promql-parser's tree for ``expr``; errors carry the engine's Prometheus wording.

    ``check_expr`` holds the text to the parse limits (``sloguard.parselimits``) before
    promql-parser sees it here or there."""
    try:
        check_expr(expr)  # the engine's parser: positions and texts as Prometheus words them
    except ParseError as e:
        raise _ParseFailed(str(e)) from None
    try:
        return promql_parser.parse(expr)
    except BaseException as e:  # ValueError, or a PanicException on odd input
        if not isinstance(e, Exception) and not _is_panic(e):
            raise
        raise _ParseFailed(parse_error_text(expr, e)) from None


def _has_selector(ast: Any) -> bool:
    found = False

    def visit(node: Any) -> None:
        nonlocal found
        if isinstance(node, promql_parser.VectorSelector | promql_parser.MatrixSelector):
            found = True
            return
        for name in ("expr", "lhs", "rhs", "vector_selector", "param"):
            child = getattr(node, name, None)
            if child is not None and not isinstance(child, str | int | float):
                visit(child)
        for child in getattr(node, "args", None) or ():
            visit(child)

    visit(ast)
    return found


def routes(ctx: ServerContext) -> list[BaseRoute]:
    """Routes for the query API; ``ctx`` is the server's ``ServerContext``."""
    api = QueryAPI(ctx)
    both = ["GET", "POST"]
    return [
        Route("/api/v1/query", api_endpoint(api.query), methods=both),
        Route("/api/v1/query_range", api_endpoint(api.query_range), methods=both),
        Route("/api/v1/format_query", api_endpoint(api.format_query), methods=both),
        Route("/api/v1/query_exemplars", api_endpoint(api.query_exemplars), methods=both),
        *status_routes(ctx),
    ]
