"""``GET /api/v2/status`` and ``GET /api/v2/receivers`` (Alertmanager v2), and Prometheus'
``GET /api/v1/alertmanagers``.

The status's ``cluster`` shows the replicas sharing the state store instead of a gossip
mesh: ``name`` is this replica, ``status`` is ``ready`` (``disabled`` when the service
reports no peers), ``peers`` are sorted by name. ``config.original`` is the configuration
in force with its secrets shown as ``<secret>``.
"""

from __future__ import annotations

import platform
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sloguard import __version__
from sloguard.alerting.service import AlertingService
from sloguard.api._am_http import am_route, go_json, needs_alerting
from sloguard.api._am_time import format_datetime
from sloguard.api._http import success

__all__ = ["routes"]

ALERTS_PATH = "/api/v2/alerts"


def routes(ctx: Any) -> list[BaseRoute]:
    needs = needs_alerting(lambda: ctx.alerting)
    started_ms = int((ctx.start_time or time.time()) * 1000)

    @needs
    async def get_status(request: Request, service: AlertingService) -> Response:
        return go_json(status_json(service, started_ms))

    @needs
    async def get_receivers(request: Request, service: AlertingService) -> Response:
        return go_json([{"name": r.name} for r in service.config.receivers])

    async def alertmanagers(request: Request) -> Response:
        return success(alertmanagers_json(ctx, str(request.base_url)))

    return [
        am_route("/api/v2/status", {"GET": get_status}),
        am_route("/api/v2/receivers", {"GET": get_receivers}),
        Route("/api/v1/alertmanagers", alertmanagers, methods=["GET"]),
    ]


def status_json(service: AlertingService, started_ms: int) -> dict[str, Any]:
    """Alertmanager's ``alertmanagerStatus``."""
    peers = sorted(service.peers(), key=lambda p: p.name)
    return {
        "cluster": {
            "name": service.peer_name,
            "peers": [{"address": p.address, "name": p.name} for p in peers],
            "status": "ready" if peers else "disabled",
        },
        "config": {"original": service.config_text},
        "uptime": format_datetime(started_ms),
        "versionInfo": {
            "branch": "", "buildDate": "", "buildUser": "",
            "goVersion": f"python{platform.python_version()}", "revision": "", "version": __version__,
        },
    }


def alertmanagers_json(ctx: Any, base_url: str) -> dict[str, Any]:
    """Prometheus' ``/api/v1/alertmanagers`` data: the configured Alertmanagers, then this
    server's own pipeline when it runs one (at ``settings["external_url"]``, else the URL
    the request came to)."""
    config = getattr(ctx, "config", None)
    urls = list(config.alerting.urls()) if config is not None else []
    if ctx.alerting is not None:
        urls.append(str(ctx.settings.get("external_url") or base_url).rstrip("/"))
    return {
        "activeAlertmanagers": [{"url": u + ALERTS_PATH} for u in urls],
        "droppedAlertmanagers": [],
    }
