"""Remote-write receiver route (POST /api/v1/write). Filled by the remote-write work."""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute


def routes(ctx: Any) -> list[BaseRoute]:
    return []
