"""SLO endpoints: ``GET /api/v1/slos`` and ``GET /api/v1/slos/{name}`` with live budgets."""

from __future__ import annotations

import time

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sloguard.api._context import ServerContext
from sloguard.api._http import ApiError, Params, api_endpoint, parse_time_param, success
from sloguard.promql import ErrorType
from sloguard.slo import budget, rulegen
from sloguard.slo.report import slo_json


def _alerts(ctx: ServerContext, name: str) -> list[dict[str, object]]:
    """The SLO's pending and firing alerts (page, ticket, no-data), from the rule manager."""
    if ctx.rule_manager is None:
        return []
    out: list[dict[str, object]] = []
    for rule in ctx.rule_manager.alerting_rules():
        if rule.labels.get("slo") != name:
            continue
        for a in rule.active_alerts():
            out.append({"alertname": rule.name, "tier": a.labels.get(rulegen.TIER_LABEL), "state": str(a.state),
                        "labels": a.labels.to_dict(), "value": a.value})
    return out


def routes(ctx: ServerContext) -> list[BaseRoute]:
    def _compute(name: str | None, at_ms: int) -> list[dict[str, object]]:
        out = []
        for slo in ctx.slos:
            if name is not None and slo.name != name:
                continue
            budgets = budget.compute(ctx.engine, slo, at_ms) if ctx.engine is not None else None
            d = slo_json(slo, budgets)
            d["alerts"] = _alerts(ctx, slo.name)
            out.append(d)
        return out

    @api_endpoint
    async def list_slos(request: Request) -> Response:
        params = await Params.of(request)
        at = parse_time_param(params, "time", int(time.time() * 1000))
        return success(await run_in_threadpool(_compute, None, at))

    @api_endpoint
    async def one_slo(request: Request) -> Response:
        params = await Params.of(request)
        at = parse_time_param(params, "time", int(time.time() * 1000))
        name = request.path_params["name"]
        found = await run_in_threadpool(_compute, name, at)
        if not found:
            raise ApiError(f"no SLO named {name!r}", ErrorType.NOT_FOUND)
        return success(found[0])

    return [
        Route("/api/v1/slos", list_slos, methods=["GET"]),
        Route("/api/v1/slos/{name}", one_slo, methods=["GET"]),
    ]
