"""``httpx`` clients (async and sync) that honour an ``http_config`` (prometheus/common's
HTTP client settings, as Alertmanager 0.25 and Prometheus' remote read/write use them).

Credentials (``basic_auth``, ``authorization``, the legacy ``bearer_token``, an OAuth 2.0
client-credentials token) go only into the ``Authorization`` header, never into an error
message or log line. Files named by ``password_file``, ``credentials_file``,
``bearer_token_file`` and ``client_secret_file`` are read at every request, as Prometheus
does, so a rotated secret takes effect without a reload; a file that cannot be read fails
that request with :class:`HTTPConfigError` (a message naming the file, never its content).
``tls_config`` (CA, client certificate, ``server_name``, ``insecure_skip_verify``,
``min_version``/``max_version``), ``proxy_url`` with ``proxy_connect_header`` and
``follow_redirects`` are honoured; ``enable_http2`` is accepted, and requests use HTTP/1.1
(the ``h2`` package is not a dependency), which every receiver and query endpoint accepts. ``headers`` are set on every request.
"""

from __future__ import annotations

import base64
import ssl
import time
from collections.abc import AsyncGenerator, Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from sloguard.httpclient._model import HTTPConfig, OAuth2Config, TLSConfig

__all__ = ["HTTPConfigError", "http_client", "read_secret_file", "ssl_context", "sync_http_client"]

_VERSIONS = {"TLS10": ssl.TLSVersion.TLSv1, "TLS11": ssl.TLSVersion.TLSv1_1,
             "TLS12": ssl.TLSVersion.TLSv1_2, "TLS13": ssl.TLSVersion.TLSv1_3}


class HTTPConfigError(httpx.HTTPError):
    """A secret file of an ``http_config`` cannot be read, its TLS files are unusable, or no
    OAuth 2.0 token could be had; the message names the file or URL, never a secret."""


def read_secret_file(path: str, what: str) -> str:
    """The trimmed content of ``path``; the error names the file and the setting."""
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as e:
        reason = getattr(e, "strerror", None) or str(e)
        raise HTTPConfigError(f"unable to read {what} file {path}: {reason}") from None


def ssl_context(tls: TLSConfig) -> ssl.SSLContext:
    """The client TLS context of a ``tls_config`` (files are read now)."""
    ctx = ssl.create_default_context()
    try:
        if tls.ca_file:
            ctx.load_verify_locations(cafile=tls.ca_file)
        if tls.cert_file or tls.key_file:
            ctx.load_cert_chain(tls.cert_file, tls.key_file or None)
    except (OSError, ssl.SSLError) as e:
        raise HTTPConfigError(f"unable to use the tls_config files (ca_file {tls.ca_file!r}, cert_file "
                              f"{tls.cert_file!r}, key_file {tls.key_file!r}): {e}") from None
    if tls.insecure_skip_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if tls.min_version:
        ctx.minimum_version = _VERSIONS[tls.min_version]
    if tls.max_version:
        ctx.maximum_version = _VERSIONS[tls.max_version]
    return ctx


class _HeaderAuth(httpx.Auth):
    """Sets ``Authorization`` from a value computed per request (files re-read each time)."""

    def __init__(self, value: Callable[[], str]) -> None:
        self._value = value

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._value()
        yield request


def _basic(cfg: HTTPConfig) -> str:
    if cfg.basic_auth_password_file:
        password = read_secret_file(cfg.basic_auth_password_file, "basic_auth password")
    else:
        password = cfg.basic_auth_password.reveal() if cfg.basic_auth_password is not None else ""
    token = base64.b64encode(f"{cfg.basic_auth_username}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def _authorization(cfg: HTTPConfig) -> str:
    if cfg.authorization_credentials_file:
        cred = read_secret_file(cfg.authorization_credentials_file, "authorization credentials")
    else:
        cred = cfg.authorization_credentials.reveal() if cfg.authorization_credentials is not None else ""
    return f"{cfg.authorization_type or 'Bearer'} {cred}"


@dataclass
class _Token:
    value: str = ""
    expires_at: float = 0.0


class _OAuth2Auth(httpx.Auth):
    """OAuth 2.0 client credentials: a token fetched from ``token_url`` (client id and
    secret in HTTP basic auth, as Go's oauth2 package sends them first), cached until a
    minute before it expires, then sent as ``Bearer``."""

    def __init__(self, cfg: OAuth2Config, now: Callable[[], float] = time.monotonic) -> None:
        self.cfg, self._now, self._token = cfg, now, _Token()

    def _stale(self) -> bool:
        return not self._token.value or self._now() >= self._token.expires_at

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if self._stale():
            async with httpx.AsyncClient(verify=ssl_context(self.cfg.tls), proxy=self.cfg.proxy_url or None) as c:
                self._token = self._parse(await c.post(self.cfg.token_url, **self._form()))
        request.headers["Authorization"] = f"Bearer {self._token.value}"
        yield request

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._stale():
            with httpx.Client(verify=ssl_context(self.cfg.tls), proxy=self.cfg.proxy_url or None) as c:
                self._token = self._parse(c.post(self.cfg.token_url, **self._form()))
        request.headers["Authorization"] = f"Bearer {self._token.value}"
        yield request

    def _form(self) -> dict[str, Any]:
        c = self.cfg
        secret = (read_secret_file(c.client_secret_file, "oauth2 client_secret") if c.client_secret_file
                  else c.client_secret.reveal() if c.client_secret is not None else "")
        form = {"grant_type": "client_credentials", **dict(c.endpoint_params)}
        if c.scopes:
            form["scope"] = " ".join(c.scopes)
        return {"data": form, "auth": (c.client_id, secret)}

    def _parse(self, resp: httpx.Response) -> _Token:
        c = self.cfg
        if resp.status_code // 100 != 2:
            raise HTTPConfigError(f"oauth2: cannot fetch a token from {c.token_url}: HTTP status {resp.status_code}")
        try:
            body = resp.json()
            token, expires_in = str(body["access_token"]), float(body.get("expires_in") or 3600)
        except (ValueError, KeyError, TypeError):
            raise HTTPConfigError(f"oauth2: the token response of {c.token_url} has no access_token") from None
        return _Token(token, self._now() + max(0.0, expires_in - 60))


def _auth(cfg: HTTPConfig) -> httpx.Auth | None:
    if cfg.oauth2 is not None:
        return _OAuth2Auth(cfg.oauth2)
    if cfg.has_basic_auth or cfg.basic_auth_username or cfg.basic_auth_password is not None:
        return _HeaderAuth(lambda: _basic(cfg))
    if cfg.authorization_type:
        return _HeaderAuth(lambda: _authorization(cfg))
    return None


def _proxy(cfg: HTTPConfig) -> httpx.Proxy | None:
    if not cfg.proxy_url:
        return None
    headers = [(name, v.reveal()) for name, values in cfg.proxy_connect_header for v in values]
    return httpx.Proxy(cfg.proxy_url, headers=headers or None)


def _server_name_hook(name: str) -> Callable[[httpx.Request], object]:
    async def hook(request: httpx.Request) -> None:
        request.extensions["sni_hostname"] = name  # SNI and the name the certificate is checked against
    return hook


def _sync_server_name_hook(name: str) -> Callable[[httpx.Request], object]:
    def hook(request: httpx.Request) -> None:
        request.extensions["sni_hostname"] = name
    return hook


def _settings(cfg: HTTPConfig, timeout_s: float) -> dict[str, Any]:
    """The client settings ``cfg`` gives, the same for the async and the blocking client."""
    return {"auth": _auth(cfg), "verify": ssl_context(cfg.tls), "proxy": _proxy(cfg), "timeout": timeout_s,
            "follow_redirects": cfg.follow_redirects,
            "headers": {name: value.reveal() for name, value in cfg.headers}}


def http_client(cfg: HTTPConfig, *, timeout_s: float = 10.0,
                transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """A client honouring ``cfg``; ``transport`` replaces the network (tests)."""
    hooks = [_server_name_hook(cfg.tls.server_name)] if cfg.tls.server_name else []
    return httpx.AsyncClient(transport=transport, event_hooks={"request": hooks}, **_settings(cfg, timeout_s))


def sync_http_client(cfg: HTTPConfig, *, timeout_s: float = 10.0,
                     transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """The blocking twin of :func:`http_client`, for callers on worker threads."""
    hooks = [_sync_server_name_hook(cfg.tls.server_name)] if cfg.tls.server_name else []
    return httpx.Client(transport=transport, event_hooks={"request": hooks}, **_settings(cfg, timeout_s))
