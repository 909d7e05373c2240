"""Pages read the JSON APIs like any client: ``api_get`` sends an in-process request
through the whole app (authentication and middleware included, with the caller's
credentials) and unpacks the Prometheus envelope ``{"status", "data" | "error"}``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.requests import Request

#: Request headers passed on to the API: who the caller is.
FORWARDED = ("authorization", "cookie")


@dataclass(frozen=True, slots=True)
class ApiResult:
    """One API answer: ``data`` when ``ok``; otherwise ``error`` is the API's sentence
    (or why there was no answer) and ``status`` its HTTP status (0: no answer)."""

    ok: bool
    data: Any = None
    error: str = ""
    status: int = 200


async def api_get(request: Request, path: str, params: Mapping[str, str | Sequence[str]] | None = None) -> ApiResult:
    """``GET path`` on this request's own app, as the caller (a list value repeats its parameter)."""
    headers = {k: v for k, v in request.headers.items() if k in FORWARDED}
    headers["accept-encoding"] = "identity"  # in-process: gzipping a megabyte of JSON only to unzip it costs CPU
    transport = httpx.ASGITransport(app=request.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sloguard.local") as client:
        try:
            resp = await client.get(path, params=dict(params or {}), headers=headers)
        except httpx.HTTPError as e:
            return ApiResult(False, error=f"The request to {path} failed: {e}", status=0)
    return unpack(path, resp)


def unpack(path: str, resp: httpx.Response) -> ApiResult:
    """The envelope's data, or its error sentence (a non-JSON answer is named as such)."""
    try:
        body = resp.json()
    except ValueError:
        return ApiResult(False, error=f"{path} answered {resp.status_code} without JSON", status=resp.status_code)
    if isinstance(body, dict) and body.get("status") == "success":
        return ApiResult(True, data=body.get("data"), status=resp.status_code)
    err = body.get("error") if isinstance(body, dict) else None
    return ApiResult(False, error=str(err or f"{path} answered {resp.status_code}"), status=resp.status_code)
