"""The HTTP client receivers without their own ``http_config`` share.

:class:`SharedClient` is an ``httpx.AsyncClient`` on aiohttp's connection pool (through
httpx-aiohttp), so every receiver can use httpx's API. :meth:`SharedClient.post_bytes`,
the receivers' POST, goes through :class:`~sloguard.httpclient.H1Client` instead (a lean
keep-alive HTTP/1.1 client on asyncio Protocols, with the same TLS context), or with
``sender=True`` through the same client in a worker process
(:class:`~sloguard.httpclient._offload.SenderProcess`, what ``sloguard serve`` uses):
aiohttp's request path was most of a webhook notification's CPU. A redirect answer is followed on
the aiohttp session, as ``client.post`` follows it. Failures are raised as the httpx
exceptions a transport raises.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urljoin

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport
from httpx_aiohttp.transport import map_aiohttp_exceptions

from sloguard.httpclient import H1Client
from sloguard.httpclient._offload import SenderProcess

__all__ = ["SharedClient"]

_MAX_REDIRECTS = 20


class SharedClient(httpx.AsyncClient):
    """httpx's API on aiohttp's pool, and a direct POST (redirects followed)."""

    def __init__(self, sender: bool = False) -> None:
        self._aio = AiohttpTransport()
        self._h1: H1Client | SenderProcess = SenderProcess() if sender else H1Client(self._aio.ssl_context)
        super().__init__(transport=self._aio, follow_redirects=True)

    def prestart(self) -> None:
        """Start the sender process now (if this client has one) rather than at the first POST."""
        if isinstance(self._h1, SenderProcess):
            self._h1.prestart()

    def _session(self) -> aiohttp.ClientSession:
        if not isinstance(self._aio.client, aiohttp.ClientSession):
            self._aio.client = self._aio.get_client()
        return self._aio.client

    async def post_bytes(self, url: str, body: bytes, headers: Mapping[str, str],
                         timeout_s: float) -> tuple[int, str]:
        """POST ``body``; the status code and the response body as text (undecodable bytes
        replaced). Raises ``httpx.HTTPError`` subclasses as ``client.post`` would."""
        resp = await self._h1.post(url, body, headers, timeout_s)
        if not resp.redirect:
            if not resp.body:  # the usual answer of a webhook receiver: nothing to decode
                return resp.status, ""
            return resp.status, _text(resp.body, _charset(resp.headers.get("content-type", "")))
        # 301/302/303 turn the POST into a GET without a body (as aiohttp and httpx do).
        method, data = ("GET", None) if resp.status in (301, 302, 303) else ("POST", body)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=timeout_s, sock_read=timeout_s, connect=timeout_s)
        with map_aiohttp_exceptions():
            async with self._session().request(method, urljoin(url, resp.headers["location"]), data=data,
                                               headers=dict(headers), timeout=timeout,
                                               max_redirects=_MAX_REDIRECTS - 1) as followed:
                return followed.status, _text(await followed.read(), followed.charset)

    async def aclose(self) -> None:
        await self._h1.aclose()
        await super().aclose()


def _charset(content_type: str) -> str | None:
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"') or None
    return None


def _text(raw: bytes, charset: str | None) -> str:
    try:
        return raw.decode(charset or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return raw.decode("utf-8", errors="replace")
