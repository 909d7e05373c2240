"""SLO endpoints: ``GET /api/v1/slos``, ``GET /api/v1/slos/{name}`` with live budgets,
and ``GET /api/v1/slos/{name}/history`` with the SLI, budget and burn rates over time."""

from __future__ import annotations

import time
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sloguard.api._context import ServerContext
from sloguard.api._http import (
    ApiError,
    Params,
    api_endpoint,
    parse_time_param,
    success,
)
from sloguard.api._query_params import parse_duration_ns
from sloguard.promql import ErrorType
from sloguard.slo import budget, history, rulegen
from sloguard.slo.model import SLO
from sloguard.slo.report import slo_json

#: History without ``step`` has about this many points.


def _alerts(ctx: ServerContext) -> dict[str, list[dict[str, object]]]:
    """Every SLO's pending and firing alerts (page, ticket, no-data) by SLO name, from the
    rule manager in one pass over its rules (a list of 1,000 SLOs must not scan them 1,000 times)."""
    out: dict[str, list[dict[str, object]]] = {}
    if ctx.rule_manager is None:
        return out
    for rule in ctx.rule_manager.alerting_rules():
        name = rule.labels.get("slo")
        if not name:
            continue
        mine = out.setdefault(name, [])
        for a in rule.active_alerts():
            mine.append({"alertname": rule.name, "tier": a.labels.get(rulegen.TIER_LABEL), "state": str(a.state),
                         "labels": a.labels.to_dict(), "value": a.value})
    return out


def _find(ctx: ServerContext, name: str) -> SLO:
    for slo in ctx.slos:
        if slo.name == name:
            return slo  # type: ignore[no-any-return]
    raise ApiError(f"no SLO named {name!r}", ErrorType.NOT_FOUND)


def _engine(ctx: ServerContext, slo: Any) -> Any:
    """The engine ``slo``'s budget and history are computed on: its query backend's, if it
    names one (``api._slo_backends``), else the server's."""
    backends = ctx.settings.get("slo_backends")
    engine = backends.engine_for(slo, ctx.engine) if backends is not None else ctx.engine
    if engine is None:
        raise ApiError("this server has no query engine to compute SLO history with", ErrorType.UNAVAILABLE)
    return engine


def history_range(params: Params, now_ms: int) -> tuple[int, int, int]:
    """``start``, ``end`` (Prometheus times; default the last day) and ``step`` (float
    seconds or a duration; default about 250 points, whole seconds)."""
    end = parse_time_param(params, "end", now_ms)
    start = parse_time_param(params, "start", end - 86_400_000)
    if params.get("step") == "":
        step = history.default_step_ms(start, end)
    else:
        try:
            step = parse_duration_ns(params.get("step")) // 1_000_000
        except ValueError as e:
            raise ApiError(f'invalid parameter "step": {e}') from None
    try:
        history.check_range(start, end, step)
    except history.HistoryError as e:
        raise ApiError(f"invalid parameters start/end/step: {e}") from None
    return start, end, step


def _with_budgets(params: Params) -> bool:
    """``budgets=false``: the specs and alerts only, without computing each SLO's budget
    (a page with many SLOs reads the budgets the rules record instead)."""
    value = params.get("budgets")
    if value not in ("", "true", "false"):
        raise ApiError(f'invalid parameter "budgets": {value!r} is neither true nor false')
    return value != "false"


def routes(ctx: ServerContext) -> list[BaseRoute]:
    def _compute(name: str | None, at_ms: int, with_budgets: bool = True) -> list[dict[str, object]]:
        out = []
        alerts = _alerts(ctx)
        for slo in ctx.slos:
            if name is not None and slo.name != name:
                continue
            budgets = budget.compute(_engine(ctx, slo), slo, at_ms) if ctx.engine is not None and with_budgets else None
            out.append(slo_json(slo, budgets, alerts.get(slo.name, [])))
        return out

    @api_endpoint
    async def list_slos(request: Request) -> Response:
        params = await Params.of(request)
        at = parse_time_param(params, "time", int(time.time() * 1000))
        return success(await run_in_threadpool(_compute, None, at, _with_budgets(params)))

    @api_endpoint
    async def one_slo(request: Request) -> Response:
        params = await Params.of(request)
        at = parse_time_param(params, "time", int(time.time() * 1000))
        name = request.path_params["name"]
        found = await run_in_threadpool(_compute, name, at)
        if not found:
            raise ApiError(f"no SLO named {name!r}", ErrorType.NOT_FOUND)
        return success(found[0])

    @api_endpoint
    async def slo_history(request: Request) -> Response:
        params = await Params.of(request)
        slo = _find(ctx, request.path_params["name"])
        engine = _engine(ctx, slo)
        start, end, step = history_range(params, int(time.time() * 1000))
        h = await run_in_threadpool(history.compute, engine, slo, start, end, step)
        return success(history.history_json(h))

    return [
        Route("/api/v1/slos", list_slos, methods=["GET"]),
        Route("/api/v1/slos/{name}", one_slo, methods=["GET"]),
        Route("/api/v1/slos/{name}/history", slo_history, methods=["GET"]),
    ]
