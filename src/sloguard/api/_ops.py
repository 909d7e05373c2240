"""Operational endpoints: ``/metrics``, ``/-/healthy``, ``/-/ready``, ``/api/v1/status/*``,
``/api/v1/targets`` (the pages, ``/`` included, are ``sloguard.ui``'s)."""

from __future__ import annotations

from typing import Any

import yaml
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from sloguard import __version__
from sloguard.api._context import ServerContext
from sloguard.api._http import api_endpoint, success


def config_yaml(config: Any) -> str:
    """The loaded config as YAML with every secret shown as ``<secret>`` (like Prometheus)."""
    if config is None:
        return ""
    data = config.model_dump(mode="json", by_alias=True, exclude_none=True)
    return yaml.safe_dump(_mask(data), sort_keys=False)


def _mask(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v) for v in value]
    if value == "**********":  # pydantic's rendering of a SecretStr
        return "<secret>"
    return value


def targets_json(ctx: ServerContext, state: str) -> dict[str, Any]:
    """``/api/v1/targets`` data; the scrape manager supplies the per-target objects."""
    mgr = ctx.scrape_manager
    active: list[Any] = []
    dropped: list[Any] = []
    fn = getattr(mgr, "targets_json", None)
    if callable(fn):
        active, dropped = fn()
    data: dict[str, Any] = {}
    if state in ("", "any", "active"):
        data["activeTargets"] = active
    if state in ("", "any", "dropped"):
        data["droppedTargets"] = dropped
    return data


def degraded(ctx: ServerContext) -> str:
    """Lines for ``/-/ready`` describing lost or quarantined data ("" when there is none).

    Prometheus has no degraded state. sloguard stays ready (200) when a block was
    quarantined or WAL replay lost records: the server can ingest, evaluate rules and
    answer queries over everything else, and taking it out of service (503) would
    stop all of that without bringing the lost data back. The body says what is missing
    so a probe or an operator reading it sees it; ``sloguard_tsdb_blocks_quarantined``
    and ``sloguard_tsdb_wal_replay_samples_lost_total`` are the metrics to alert on.
    """
    stats_fn = getattr(ctx.storage, "stats", None)
    st = stats_fn() if callable(stats_fn) else None
    blocks = int(getattr(st, "blocks_quarantined", 0) or 0)
    wal = int(getattr(st, "wal_corruptions_total", 0) or 0)
    out = []
    if blocks:
        where = ", ".join(q.path for q in getattr(st, "quarantined_blocks", ()))
        out.append(f"degraded: {blocks} block(s) quarantined as damaged, their data is not served: {where}\n")
    if wal:
        lost = int(getattr(st, "wal_replay_samples_lost", 0) or 0)
        out.append(f"degraded: WAL replay found {wal} damaged file(s) and lost at least {lost} samples "
                   "(damaged bytes kept under quarantine/wal)\n")
    return "".join(out)


def routes(ctx: ServerContext, registry: CollectorRegistry) -> list[BaseRoute]:
    """The operational routes; ``registry`` is what ``/metrics`` exposes."""

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    async def healthy(request: Request) -> Response:
        return PlainTextResponse("sloguard is Healthy.\n")

    async def ready(request: Request) -> Response:
        if not ctx.ready:
            return PlainTextResponse("Service Unavailable", status_code=503)
        return PlainTextResponse("sloguard is Ready.\n" + degraded(ctx))

    @api_endpoint
    async def status_config(request: Request) -> Response:
        return success({"yaml": config_yaml(ctx.config)})

    @api_endpoint
    async def status_flags(request: Request) -> Response:
        return success(dict(ctx.flags))

    @api_endpoint
    async def status_buildinfo(request: Request) -> Response:
        return success({"version": __version__, "revision": "", "branch": "", "buildUser": "", "buildDate": "", "goVersion": ""})

    @api_endpoint
    async def targets(request: Request) -> Response:
        return success(targets_json(ctx, request.query_params.get("state", "")))

    return [
        Route("/metrics", metrics, methods=["GET"]),
        Route("/-/healthy", healthy, methods=["GET", "HEAD"]),
        Route("/-/ready", ready, methods=["GET", "HEAD"]),
        Route("/api/v1/status/config", status_config, methods=["GET"]),
        Route("/api/v1/status/flags", status_flags, methods=["GET"]),
        Route("/api/v1/status/buildinfo", status_buildinfo, methods=["GET"]),
        Route("/api/v1/targets", targets, methods=["GET"]),
    ]


#: Paths served while the server is not ready (Prometheus' ``testReady`` lets these through).
ALWAYS_SERVED = frozenset({"/-/healthy", "/-/ready", "/metrics"})


class ReadyGate:
    """ASGI middleware: 503 "Service Unavailable" for every other path until ``ctx.ready``.

    Only active when ``ctx.gate_until_ready`` (the real server), so apps built in tests
    serve at once.
    """

    def __init__(self, app: ASGIApp, ctx: ServerContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and self.ctx.gate_until_ready
            and not self.ctx.ready
            and scope["path"] not in ALWAYS_SERVED
        ):
            await PlainTextResponse("Service Unavailable", status_code=503)(scope, receive, send)
            return
        await self.app(scope, receive, send)
