"""The HTTP client receivers without their own ``http_config`` share.

:class:`SharedClient` is an ``httpx.AsyncClient`` on aiohttp's connection pool (through
httpx-aiohttp), so every receiver can use httpx's API; :meth:`SharedClient.post_bytes`
posts on the same aiohttp session directly, leaving out httpx's request and response
models (about half the CPU of a webhook notification). Its failures are raised as the
httpx exceptions the transport would raise (the same names in the error texts).
"""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport
from httpx_aiohttp.transport import map_aiohttp_exceptions

__all__ = ["SharedClient"]


class SharedClient(httpx.AsyncClient):
    """httpx's API on aiohttp's pool, and a direct POST on that pool (redirects followed)."""

    def __init__(self) -> None:
        self._aio = AiohttpTransport()
        super().__init__(transport=self._aio, follow_redirects=True)

    def _session(self) -> aiohttp.ClientSession:
        if not isinstance(self._aio.client, aiohttp.ClientSession):
            self._aio.client = self._aio.get_client()
        return self._aio.client

    async def post_bytes(self, url: str, body: bytes, headers: Mapping[str, str],
                         timeout_s: float) -> tuple[int, str]:
        """POST ``body``; the status code and the response body as text (undecodable bytes
        replaced). Raises ``httpx.HTTPError`` subclasses as ``client.post`` would."""
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=timeout_s, sock_read=timeout_s, connect=timeout_s)
        with map_aiohttp_exceptions():
            async with self._session().post(url, data=body, headers=dict(headers), timeout=timeout,
                                            max_redirects=20) as resp:
                return resp.status, _text(await resp.read(), resp.charset)


def _text(raw: bytes, charset: str | None) -> str:
    try:
        return raw.decode(charset or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return raw.decode("utf-8", errors="replace")
