"""The Alertmanager v2 API as the alert and silence pages call it: in-process requests
through the whole app (authentication and middleware included, with the caller's
credentials), exactly what ``amtool`` or the browser would send.

Unlike the Prometheus API, Alertmanager's answers carry no envelope: a success is the bare
JSON, a handler's error a JSON string, and go-openapi's error ``{"code", "message"}``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.requests import Request

from sloguard.ui._api import FORWARDED

Params = Mapping[str, str | Sequence[str]]


@dataclass(frozen=True, slots=True)
class AmAnswer:
    """One answer: ``data`` (the decoded JSON, None for an empty body) when ``ok``;
    otherwise ``error`` is the API's sentence and ``status`` its HTTP status (0: none)."""

    ok: bool
    data: Any = None
    error: str = ""
    status: int = 200


async def am_call(request: Request, method: str, path: str, params: Params | None = None,
                  body: Any = None) -> AmAnswer:
    """``method path`` on this request's own app, as the caller; ``body`` is sent as JSON."""
    headers = {k: v for k, v in request.headers.items() if k in FORWARDED}
    transport = httpx.ASGITransport(app=request.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sloguard.local") as client:
        try:
            resp = await client.request(method, path, params=dict(params or {}), headers=headers,
                                        json=body if body is not None else None)
        except httpx.HTTPError as e:
            return AmAnswer(False, error=f"The request to {path} failed: {e}", status=0)
    return unpack(path, resp)


def unpack(path: str, resp: httpx.Response) -> AmAnswer:
    """The answer's JSON, or its error sentence."""
    try:
        body = resp.json() if resp.content.strip() else None
    except ValueError:
        body = resp.text.strip() or None
    if resp.is_success:
        return AmAnswer(True, data=body, status=resp.status_code)
    if isinstance(body, dict) and "message" in body:
        error = str(body["message"])
    elif isinstance(body, str) and body:
        error = body
    else:
        error = f"{path} answered {resp.status_code}"
    return AmAnswer(False, error=error, status=resp.status_code)


def caller_name(request: Request) -> str:
    """The user name of HTTP basic authentication (which the app checked before this ran),
    or "" (no credentials, or a bearer token, which names no one)."""
    scheme, _, data = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return ""
    try:
        user, sep, _ = base64.b64decode(data.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return ""
    return user if sep else ""


def same_origin(request: Request) -> bool:
    """Whether a state-changing form post comes from this site's own pages: a browser sends
    ``Origin`` (or ``Sec-Fetch-Site``) with every POST; a request naming another site is
    refused, so a page elsewhere cannot use a signed-in browser to create or expire silences."""
    site = request.headers.get("sec-fetch-site", "")
    if site:  # the browser's own word (a page cannot forge it), right behind a proxy too
        return site in ("same-origin", "none")
    origin = request.headers.get("origin", "")
    if not origin or origin == "null":
        return not origin
    return origin.split("://", 1)[-1] == request.headers.get("host", "")
