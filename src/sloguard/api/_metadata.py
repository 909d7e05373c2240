"""Prometheus metadata endpoints: ``/api/v1/series``, ``/labels``, ``/label/<name>/values``.

Same parameters (``match[]``, ``start``, ``end``; GET or urlencoded POST), JSON shapes and
error texts as Prometheus. Without ``start``/``end`` the whole time range is searched.
``match[]`` selectors are parsed in a worker thread, so a long one never stalls the event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
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
    go_quote,
    parse_matchers_param,
    parse_time_param,
    success,
)
from sloguard.labels import Labels, Matcher, is_valid_label_name
from sloguard.tsdb import Querier

_T = TypeVar("_T")


@contextmanager
def open_querier(ctx: ServerContext) -> Iterator[Querier]:
    """A querier on the context's storage, closed afterwards when it can be."""
    q = ctx.storage.querier()
    try:
        yield q
    finally:
        close = getattr(q, "close", None)
        if callable(close):
            close()


async def _time_range(params: Params) -> tuple[int, int]:
    start = parse_time_param(params, "start", MIN_TIME_MS)
    end = parse_time_param(params, "end", MAX_TIME_MS)
    return start, end


def series_json(labels: Labels) -> dict[str, str]:
    """One series as Prometheus prints it: an object of label name to value."""
    return dict(labels)


def _series(q: Querier, sets: Sequence[list[Matcher]], mint: int, maxt: int) -> list[Labels]:
    found: set[Labels] = set()
    for ms in sets:
        found.update(q.series(ms, mint, maxt))
    return sorted(found)


def _label_names(q: Querier, sets: Sequence[list[Matcher]], mint: int, maxt: int) -> list[str]:
    if not sets:
        return sorted(q.label_names([], mint, maxt))
    names: set[str] = set()
    for ms in sets:
        names.update(q.label_names(ms, mint, maxt))
    return sorted(names)


def _label_values(
    q: Querier, name: str, sets: Sequence[list[Matcher]], mint: int, maxt: int
) -> list[str]:
    if not sets:
        return sorted(q.label_values(name, [], mint, maxt))
    values: set[str] = set()
    for ms in sets:
        values.update(q.label_values(name, ms, mint, maxt))
    return sorted(values)


def _in_querier(ctx: ServerContext, fn: Callable[..., _T], *args: Any) -> _T:
    """Run ``fn(querier, *args)`` on a fresh querier (called in a worker thread)."""
    with open_querier(ctx) as q:
        return fn(q, *args)


def routes(ctx: ServerContext) -> list[BaseRoute]:
    """The metadata routes bound to ``ctx``."""

    @api_endpoint
    async def series(request: Request) -> Response:
        params = await Params.of(request)
        selectors = params.get_list("match[]")
        if not selectors:
            raise ApiError("no match[] parameter provided")
        start, end = await _time_range(params)
        sets = await run_in_threadpool(parse_matchers_param, selectors)
        found = await run_in_threadpool(_in_querier, ctx, _series, sets, start, end)
        data: list[dict[str, Any]] = [series_json(ls) for ls in found]
        return success(data)

    @api_endpoint
    async def labels(request: Request) -> Response:
        params = await Params.of(request)
        start, end = await _time_range(params)
        sets = await run_in_threadpool(parse_matchers_param, params.get_list("match[]"), False)
        return success(await run_in_threadpool(_in_querier, ctx, _label_names, sets, start, end))

    @api_endpoint
    async def label_values(request: Request) -> Response:
        name = request.path_params["name"]
        if not is_valid_label_name(name):
            raise ApiError(f"invalid label name: {go_quote(name)}")
        params = await Params.of(request)
        start, end = await _time_range(params)
        sets = await run_in_threadpool(parse_matchers_param, params.get_list("match[]"), False)
        values = await run_in_threadpool(
            _in_querier, ctx, lambda q, *a: _label_values(q, name, *a), sets, start, end
        )
        return success(values)

    methods = ["GET", "POST"]
    return [
        Route("/api/v1/series", series, methods=methods),
        Route("/api/v1/labels", labels, methods=methods),
        Route("/api/v1/label/{name}/values", label_values, methods=["GET"]),
    ]
