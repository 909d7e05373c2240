"""``query_backend:`` (and Prometheus' ``remote_read`` list) read from a plain mapping.

```yaml
query_backend:
  url: http://victoria:8428          # the API root; /api/v1/query etc. are appended
  timeout: 2m                        # per request (Prometheus' remote_timeout: also accepted)
  retries: 3                         # extra attempts of an idempotent read (5xx, 429, connection errors)
  min_backoff: 100ms                 # doubled per retry, at most max_backoff; 429's Retry-After wins
  max_backoff: 5s
  basic_auth: {username: u, password_file: /etc/secret}   # and every prometheus/common client key
  headers: {X-Scope-OrgID: team-a}
```
A ``remote_read`` entry's ``url`` ends in ``/api/v1/read`` in Prometheus; that suffix is
dropped, so the same URL can be given to both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sloguard.durations import parse_duration_ms
from sloguard.httpclient import (
    HTTP_KEYS,
    HTTPConfig,
    HTTPConfigParseError,
    http_config_dict,
    parse_http_config_dict,
)
from sloguard.remote._errors import BackendConfigError

_OWN_KEYS = frozenset(("url", "timeout", "remote_timeout", "retries", "min_backoff", "max_backoff", "name",
                       "read_recent", "required_matchers", "filter_external_labels"))


@dataclass(frozen=True, slots=True)
class QueryBackend:
    """A Prometheus-compatible query API (Prometheus, VictoriaMetrics, Thanos Query, Mimir)
    and how to talk to it. Times in seconds; ``url`` has no trailing slash."""

    url: str
    timeout_s: float = 120.0
    retries: int = 3
    min_backoff_s: float = 0.1
    max_backoff_s: float = 5.0
    http: HTTPConfig = field(default_factory=HTTPConfig)
    name: str = ""


    def config_dict(self) -> dict[str, Any]:
        """The backend as its config keys, secrets shown as ``<secret>`` (``/status/config``)."""
        return {"url": self.url, "timeout": f"{self.timeout_s:g}s", "retries": self.retries,
                "min_backoff": f"{self.min_backoff_s:g}s", "max_backoff": f"{self.max_backoff_s:g}s",
                **http_config_dict(self.http)}


def _seconds(data: dict[str, Any], key: str, default: float, path: str) -> float:
    raw = data.get(key)
    if raw is None:
        return default
    try:
        ms = raw * 1000 if isinstance(raw, int | float) and not isinstance(raw, bool) else parse_duration_ms(str(raw))
    except ValueError as e:
        raise BackendConfigError(f"{path}.{key}: {e}") from None
    if ms <= 0:
        raise BackendConfigError(f"{path}.{key}: must be positive, got {raw!r}")
    return float(ms) / 1000


def _url(data: dict[str, Any], path: str) -> str:
    raw = data.get("url")
    parts = urlsplit(raw) if isinstance(raw, str) else None
    if not isinstance(raw, str) or parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise BackendConfigError(f"{path}.url: an http(s) URL with a host is required, got {raw!r}")
    url = raw.rstrip("/")
    return url[: -len("/api/v1/read")] if url.endswith("/api/v1/read") else url


def _retries(data: dict[str, Any], path: str) -> int:
    raw = data.get("retries", 3)
    if not isinstance(raw, int) or isinstance(raw, bool) or not 0 <= raw <= 20:
        raise BackendConfigError(f"{path}.retries: must be a whole number from 0 to 20, got {raw!r}")
    return raw


def parse_query_backend(data: object, path: str = "query_backend") -> QueryBackend:
    """The backend of one ``query_backend`` mapping or ``remote_read`` entry."""
    if not isinstance(data, dict):
        raise BackendConfigError(f"{path}: expected a mapping with a url, got {type(data).__name__}")
    for key in data:
        if key not in _OWN_KEYS and key not in HTTP_KEYS:
            raise BackendConfigError(f"{path}.{key}: unknown key; allowed: {', '.join(sorted(_OWN_KEYS | HTTP_KEYS))}")
    try:
        http = parse_http_config_dict(data, path)
    except HTTPConfigParseError as e:
        raise BackendConfigError(str(e)) from None
    min_b, max_b = _seconds(data, "min_backoff", 0.1, path), _seconds(data, "max_backoff", 5.0, path)
    if max_b < min_b:
        raise BackendConfigError(f"{path}.max_backoff: must not be below min_backoff ({max_b}s < {min_b}s)")
    timeout = _seconds(data, "timeout", _seconds(data, "remote_timeout", 120.0, path), path)
    return QueryBackend(url=_url(data, path), timeout_s=timeout, retries=_retries(data, path),
                        min_backoff_s=min_b, max_backoff_s=max_b, http=http, name=str(data.get("name") or ""))


def parse_remote_read(data: object, path: str = "remote_read") -> QueryBackend:
    """Prometheus' ``remote_read`` list: exactly one entry is used as the query backend."""
    if not isinstance(data, list) or len(data) != 1:
        raise BackendConfigError(f"{path}: expected a list with exactly one entry (sloguard queries one backend), "
                                 f"got {data!r}"[:300])
    return parse_query_backend(data[0], f"{path}[0]")
