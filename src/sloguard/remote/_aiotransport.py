"""The remote write transport on aiohttp: about a seventh of httpx's CPU per request.

Basic auth, ``authorization`` (and ``bearer_token``), ``headers`` and ``tls_config``
(CA, client certificate, ``server_name``, ``insecure_skip_verify``, TLS versions) are
applied here, secret files read at every request as prometheus/common does. A config
with ``oauth2`` or ``proxy_url`` goes through httpx (``sloguard.httpclient``) instead,
still on aiohttp's connection pool (``http_transport`` picks).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping

import aiohttp

from sloguard.httpclient import (
    HTTPConfig,
    HTTPConfigError,
    http_client,
    read_secret_file,
    ssl_context,
)
from sloguard.remote._send import HTTPXTransport, SendResponse, Transport


def _authorization(cfg: HTTPConfig) -> str:
    """The ``Authorization`` header value of ``cfg`` ("" for none)."""
    if cfg.has_basic_auth or cfg.basic_auth_username or cfg.basic_auth_password or cfg.basic_auth_password_file:
        if cfg.basic_auth_password_file:
            password = read_secret_file(cfg.basic_auth_password_file, "basic_auth password")
        else:
            password = cfg.basic_auth_password.reveal() if cfg.basic_auth_password is not None else ""
        return "Basic " + base64.b64encode(f"{cfg.basic_auth_username}:{password}".encode()).decode("ascii")
    if cfg.authorization_type or cfg.authorization_credentials or cfg.authorization_credentials_file:
        if cfg.authorization_credentials_file:
            cred = read_secret_file(cfg.authorization_credentials_file, "authorization credentials")
        else:
            cred = cfg.authorization_credentials.reveal() if cfg.authorization_credentials is not None else ""
        return f"{cfg.authorization_type or 'Bearer'} {cred}"
    return ""


class AiohttpTransport:
    """Posts remote write bodies on one aiohttp session (created on first use, inside
    the running loop); never raises for HTTP or network errors."""

    def __init__(self, cfg: HTTPConfig, url: str, timeout_s: float) -> None:
        self.cfg, self.url = cfg, url
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._ssl = ssl_context(cfg.tls) if url.startswith("https://") else None
        self._headers = {name: value.reveal() for name, value in cfg.headers}
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(ssl=self._ssl if self._ssl is not None else True)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout)
        return self._session

    async def post(self, body: bytes, headers: Mapping[str, str]) -> SendResponse:
        try:
            hdrs = {**self._headers, **headers}
            auth = _authorization(self.cfg)
            if auth:
                hdrs["Authorization"] = auth
            async with self._client().post(self.url, data=body, headers=hdrs,
                                           allow_redirects=self.cfg.follow_redirects,
                                           server_hostname=self.cfg.tls.server_name or None) as r:
                text = (await r.read())[:512].decode("utf-8", errors="replace").strip()
                if 200 <= r.status < 300:
                    return SendResponse(r.status)
                return SendResponse(r.status, r.headers.get("Retry-After", ""),
                                    f"server returned HTTP status {r.status}: {text}")
        except HTTPConfigError as e:
            return SendResponse(0, error=str(e))
        except (aiohttp.ClientError, TimeoutError, OSError) as e:
            return SendResponse(0, error=f"{type(e).__name__}: {e}" if str(e) else type(e).__name__)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


def make_transport(cfg: HTTPConfig, url: str, timeout_s: float) -> Transport:
    """aiohttp directly, or httpx on aiohttp's pool for OAuth 2.0 and proxies."""
    if cfg.oauth2 is None and not cfg.proxy_url:
        return AiohttpTransport(cfg, url, timeout_s)
    from httpx_aiohttp import AiohttpTransport as HttpxOnAiohttp

    return HTTPXTransport(http_client(cfg, timeout_s=timeout_s, transport=HttpxOnAiohttp()), url, timeout_s)
