"""Rule and alert endpoints (/api/v1/rules, /api/v1/alerts, /-/reload). Filled by the rules work."""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute


def routes(ctx: Any) -> list[BaseRoute]:
    return []
