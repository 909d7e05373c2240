"""Prometheus query endpoints (/api/v1/query, /api/v1/query_range, ...). Filled by the PromQL work."""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute


def routes(ctx: Any) -> list[BaseRoute]:
    """Routes for the query API; ``ctx`` is the server's ``ServerContext``."""
    return []
