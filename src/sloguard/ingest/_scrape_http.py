"""The HTTP side of a scrape: headers, credentials, the GET itself, Prometheus' error wording.

Credentials come from the config (``SecretStr``) or are read from their file on every
scrape, as Prometheus does; they only ever go into the ``Authorization`` header, never
into an error message or log line.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from http import HTTPStatus
from pathlib import Path

import httpx

from sloguard.ingest._errors import IngestError
from sloguard.ingest.scrape_config import ScrapeConfig

#: What Prometheus 2.42 sends: OpenMetrics preferred, then text 0.0.4.
ACCEPT_HEADER = (
    "application/openmetrics-text;version=1.0.0,"
    "application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
USER_AGENT = "sloguard/0.1 (Prometheus/2.42.0 compatible)"

#: Builds the HTTP client for one scrape config (tests pass one with a MockTransport).
HttpClientFactory = Callable[[ScrapeConfig], httpx.AsyncClient]


class ScrapeError(IngestError):
    """A failed scrape; the message is what ``/api/v1/targets`` shows as ``lastError``."""


def default_client_factory(sc: ScrapeConfig) -> httpx.AsyncClient:
    tls = sc.tls_config
    verify: bool | str = not tls.insecure_skip_verify
    if tls.ca_file and verify:
        verify = tls.ca_file
    cert = (tls.cert_file, tls.key_file) if tls.cert_file and tls.key_file else None
    return httpx.AsyncClient(
        verify=verify, cert=cert, follow_redirects=sc.follow_redirects, proxy=sc.proxy_url
    )


def _read_secret(path: str, what: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as e:
        raise ScrapeError(f"unable to read {what} file {path}: {e.strerror}") from None


def authorization_header(sc: ScrapeConfig) -> str | None:
    """The ``Authorization`` header value for this config, or ``None``."""
    if sc.basic_auth is not None:
        ba = sc.basic_auth
        if ba.password_file:
            password = _read_secret(ba.password_file, "basic auth password")
        else:
            password = ba.password.get_secret_value() if ba.password is not None else ""
        token = base64.b64encode(f"{ba.username}:{password}".encode()).decode("ascii")
        return f"Basic {token}"
    if sc.authorization is not None:
        au = sc.authorization
        if au.credentials_file:
            cred = _read_secret(au.credentials_file, "authorization credentials")
        else:
            cred = au.credentials.get_secret_value() if au.credentials is not None else ""
        return f"{au.type.strip() or 'Bearer'} {cred}"
    if sc.bearer_token is not None:
        return f"Bearer {sc.bearer_token.get_secret_value()}"
    if sc.bearer_token_file:
        return f"Bearer {_read_secret(sc.bearer_token_file, 'bearer token')}"
    return None


def _seconds(ms: int) -> str:
    """Go's ``strconv.FormatFloat(d.Seconds(), 'f', -1, 64)``: ``10``, ``0.5``."""
    return f"{ms / 1000:.3f}".rstrip("0").rstrip(".")


def request_headers(sc: ScrapeConfig, timeout_ms: int) -> dict[str, str]:
    headers = {
        "Accept": ACCEPT_HEADER,
        "Accept-Encoding": "gzip",
        "User-Agent": USER_AGENT,
        "X-Prometheus-Scrape-Timeout-Seconds": _seconds(timeout_ms),
    }
    auth = authorization_header(sc)
    if auth is not None:
        headers["Authorization"] = auth
    return headers


async def fetch(
    client: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    timeout_ms: int,
    body_limit: int,
) -> tuple[bytes, str | None]:
    """GET the target; return (body, Content-Type) or raise ``ScrapeError``."""
    try:
        async with asyncio.timeout(timeout_ms / 1000), client.stream(
            "GET", url, headers=headers, timeout=timeout_ms / 1000
        ) as resp:
            if resp.status_code != 200:
                raise ScrapeError(f"server returned HTTP status {_status(resp.status_code)}")
            chunks: list[bytes] = []
            size = 0
            async for chunk in resp.aiter_bytes():
                size += len(chunk)
                if body_limit and size > body_limit:
                    raise ScrapeError(f"body size limit exceeded ({body_limit} bytes)")
                chunks.append(chunk)
            return b"".join(chunks), resp.headers.get("content-type")
    except (httpx.TimeoutException, TimeoutError):  # the whole request has one deadline
        raise ScrapeError(f'Get "{url}": context deadline exceeded') from None
    except httpx.HTTPError as e:
        raise ScrapeError(f'Get "{url}": {e or type(e).__name__}') from None


def _status(code: int) -> str:
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return str(code)
