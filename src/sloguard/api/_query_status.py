"""``/api/v1/status/runtimeinfo`` and ``/api/v1/metadata`` in Prometheus' shapes.

(``/status/buildinfo`` is served by ``api._ops``.)

Grafana's Prometheus data source calls these when it connects and when its query editor
offers metric names; the fields it reads are all present.

Metric metadata comes from the scrape manager when it offers ``metadata()`` returning
``(metric, type, help, unit)`` tuples; otherwise the answer is an empty object.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sloguard.api._context import ServerContext
from sloguard.api._http import ApiError, Params, api_endpoint, success
from sloguard.ingest.scrape_config import format_duration

MetadataTuple = tuple[str, str, str, str]


def go_time(dt: datetime) -> str:
    """A time as Go's JSON encoding writes it (RFC 3339 with trimmed nanoseconds)."""
    s = dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    frac = f"{dt.microsecond:06d}".rstrip("0")
    return f"{s}.{frac}Z" if frac else f"{s}Z"


def record_reload(settings: dict[str, Any], ok: bool, now: datetime | None = None) -> None:
    """Note a config load's outcome: ``reloadConfigSuccess`` follows the last attempt and
    ``lastConfigTime`` the last success (Prometheus' runtime info and reload metrics)."""
    settings["reload_config_success"] = ok
    if ok:
        settings["last_config_time"] = now if now is not None else datetime.now(UTC)


def runtime_info(ctx: ServerContext, started: datetime) -> dict[str, Any]:
    s = ctx.settings
    start_ts = float(getattr(ctx, "start_time", 0.0) or 0.0)
    if start_ts:
        started = datetime.fromtimestamp(start_ts, UTC)
    return {
        "startTime": go_time(started),
        "CWD": os.getcwd(),
        "reloadConfigSuccess": bool(s.get("reload_config_success", True)),
        "lastConfigTime": go_time(s.get("last_config_time", started).replace(microsecond=0)),
        "corruptionCount": 0,
        "goroutineCount": threading.active_count(),
        "GOMAXPROCS": os.cpu_count() or 1,
        "GOGC": "",
        "GODEBUG": "",
        "storageRetention": str(s.get("storage_retention") or _retention(ctx)),
    }


def _retention(ctx: ServerContext) -> str:
    """Prometheus' ``storageRetention`` text ("15d", "10GiB", "15d or 10GiB") from the config."""
    tsdb = getattr(getattr(getattr(ctx, "config", None), "storage", None), "tsdb", None)
    if tsdb is None:
        return "15d"
    parts = []
    if tsdb.retention_time:
        parts.append(format_duration(int(tsdb.retention_time)))
    if tsdb.retention_size:
        parts.append(f"{int(tsdb.retention_size)}B")
    return " or ".join(parts)


def _scrape_metadata(ctx: ServerContext) -> Iterable[MetadataTuple]:
    source = getattr(ctx.scrape_manager, "metadata", None)
    return source() if callable(source) else ()


def metric_metadata(items: Iterable[MetadataTuple], metric: str, limit: int) -> dict[str, list[dict[str, str]]]:
    """Group metadata by metric name, distinct entries each, at most ``limit`` metrics."""
    grouped: dict[str, dict[tuple[str, str, str], None]] = {}
    for name, typ, help_, unit in items:
        if metric and name != metric:
            continue
        grouped.setdefault(name, {})[(typ, help_, unit)] = None
    out: dict[str, list[dict[str, str]]] = {}
    for name, entries in grouped.items():
        if 0 <= limit <= len(out):
            break
        out[name] = [{"type": t, "help": h, "unit": u} for t, h, u in entries]
    return out


def status_routes(ctx: ServerContext) -> list[BaseRoute]:
    started = datetime.now(UTC)

    async def runtimeinfo(request: Request) -> Response:
        return success(runtime_info(ctx, started))

    async def metadata(request: Request) -> Response:
        params = await Params.of(request)
        limit = -1
        if params.get("limit") != "":
            try:
                limit = int(params.get("limit"))
            except ValueError:
                raise ApiError("limit must be a number") from None
        return success(metric_metadata(_scrape_metadata(ctx), params.get("metric"), limit))

    return [
        Route("/api/v1/status/runtimeinfo", api_endpoint(runtimeinfo), methods=["GET"]),
        Route("/api/v1/metadata", api_endpoint(metadata), methods=["GET"]),
    ]
