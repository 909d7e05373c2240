"""HTTP APIs: Prometheus-compatible endpoints, remote write, operational endpoints.

``create_app(ctx)`` assembles one Starlette app from the route modules, each a
``routes(ctx) -> list[BaseRoute]`` function: operational endpoints (``_ops``), metadata
(``_metadata``), remote write (``_write``), queries (``_query``), rules (``_rules``) and
the bundled demo target, and Alertmanager's v2 API over ``ctx.alerting``
(``_am_alerts``, ``_am_silences``, ``_am_status``), and the web pages (``sloguard.ui``: ``/``,
``/slos/{name}``, static files under ``/ui/static/``). Shared request/response helpers live in ``_http``. With a web
config (``ctx.web_config``), ``_auth.WebAuth`` authenticates every request first.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from sloguard import demo, ui
from sloguard.api import (
    _alert_history,
    _am_alerts,
    _am_silences,
    _am_status,
    _cluster,
    _metadata,
    _ops,
    _query,
    _rollouts,
    _rules,
    _slos,
    _tsdb_status,
    _write,
)
from sloguard.api._auth import WebAuth
from sloguard.api._context import ServerContext
from sloguard.api._http import ApiError
from sloguard.api._metrics import HTTPMetrics, build_registry

__all__ = ["ApiError", "ServerContext", "create_app"]


def create_app(ctx: ServerContext, registry: CollectorRegistry | None = None) -> Starlette:
    """The whole HTTP app over ``ctx``. ``registry`` (a fresh one by default) backs ``/metrics``."""
    reg = registry if registry is not None else build_registry(ctx)
    routes: list[BaseRoute] = [
        *_ops.routes(ctx, reg),
        *_metadata.routes(ctx),
        *_tsdb_status.routes(ctx),
        *_cluster.routes(ctx),
        *_write.routes(ctx),
        *_query.routes(ctx),
        *_rules.routes(ctx),
        *_slos.routes(ctx),
        *_rollouts.routes(ctx),
        *_am_alerts.routes(ctx),
        *_am_silences.routes(ctx),
        *_am_status.routes(ctx),
        *_alert_history.routes(ctx),
        *ui.routes(),
    ]
    if ctx.serve_demo:
        routes.extend(demo.routes())
    middleware = [Middleware(HTTPMetrics, registry=reg), Middleware(_ops.ReadyGate, ctx=ctx)]
    if ctx.web_config is not None:  # authentication first: nothing runs for an unknown caller
        middleware.insert(0, Middleware(WebAuth, web=ctx.web_config))
    app = Starlette(routes=routes, middleware=middleware)
    app.state.ctx = ctx
    app.state.registry = reg
    return app
