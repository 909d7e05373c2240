"""``remote_write:`` entries of the server config, with Prometheus' own keys and defaults.

```yaml
remote_write:
  - url: http://vm:8428/api/v1/write
    name: vm                       # default: a hash of the URL (names the queue's position file)
    remote_timeout: 30s
    headers: {X-Scope-OrgID: team-a}
    write_relabel_configs: [...]   # Prometheus relabel configs (sloguard.ingest.relabel)
    queue_config: {capacity: 10000, max_shards: 50, min_shards: 1, max_samples_per_send: 2000,
                   batch_send_deadline: 5s, min_backoff: 30ms, max_backoff: 5s, retry_on_http_429: false}
    metadata_config: {send: true, send_interval: 1m, max_samples_per_send: 500}
    basic_auth: {username: u, password: p}   # and the other HTTP client keys (authorization,
                                             # bearer_token, tls_config, proxy_url, oauth2, ...)
```
Durations are in milliseconds once validated, as in every config model.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from sloguard.httpclient import (
    HTTP_KEYS,
    HTTPConfig,
    HTTPConfigError,
    http_config_dict,
    parse_http_config_dict,
)
from sloguard.ingest.relabel import RelabelConfig
from sloguard.ingest.scrape_config import Duration

#: The prometheus/common HTTP client keys a ``remote_write`` entry may carry besides its own.
HTTP_CLIENT_KEYS = HTTP_KEYS - {"headers"}
#: Headers remote write sets itself; Prometheus refuses them in ``headers``.
RESERVED_HEADERS = frozenset({
    "host", "authorization", "content-encoding", "content-type", "x-prometheus-remote-write-version",
    "user-agent", "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "www-authenticate",
})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class QueueConfig(_Strict):
    """How samples are queued and sent (Prometheus' ``queue_config``, same defaults)."""

    capacity: int = Field(default=10_000, gt=0)
    max_shards: int = Field(default=50, gt=0)
    min_shards: int = Field(default=1, gt=0)
    max_samples_per_send: int = Field(default=2_000, gt=0)
    batch_send_deadline: Annotated[Duration, Field(gt=0)] = 5_000
    min_backoff: Annotated[Duration, Field(gt=0)] = 30
    max_backoff: Annotated[Duration, Field(gt=0)] = 5_000
    retry_on_http_429: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> QueueConfig:
        if self.min_shards > self.max_shards:
            raise ValueError(f"queue_config: min_shards ({self.min_shards}) is above max_shards ({self.max_shards})")
        if self.min_backoff > self.max_backoff:
            raise ValueError(f"queue_config: min_backoff ({self.min_backoff}ms) is above "
                             f"max_backoff ({self.max_backoff}ms)")
        return self


class MetadataConfig(_Strict):
    """Whether and how often metric metadata is sent (Prometheus' ``metadata_config``)."""

    send: bool = True
    send_interval: Annotated[Duration, Field(gt=0)] = 60_000
    max_samples_per_send: int = Field(default=500, gt=0)


class RemoteWriteConfig(BaseModel):
    """One ``remote_write`` entry. The HTTP client keys are kept as written in ``http``
    (checked against ``HTTP_CLIENT_KEYS`` here; their content by the HTTP client)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    url: str
    name: str = ""
    remote_timeout: Annotated[Duration, Field(gt=0)] = 30_000
    headers: dict[str, str] = Field(default_factory=dict)
    write_relabel_configs: list[RelabelConfig] = Field(default_factory=list)
    queue_config: QueueConfig = Field(default_factory=QueueConfig)
    metadata_config: MetadataConfig = Field(default_factory=MetadataConfig)

    @field_validator("url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")) or len(v.split("://", 1)[1]) == 0:
            raise ValueError(f"remote_write url {v!r} is not an http:// or https:// URL")
        return v

    @field_validator("headers")
    @classmethod
    def _no_reserved(cls, v: dict[str, str]) -> dict[str, str]:
        bad = sorted(h for h in v if h.lower() in RESERVED_HEADERS)
        if bad:
            raise ValueError(f"remote_write headers may not set {', '.join(bad)}: remote write sets it itself")
        return v

    @model_validator(mode="after")
    def _known_extras(self) -> RemoteWriteConfig:
        unknown = sorted(set(self.model_extra or {}) - HTTP_CLIENT_KEYS)
        if unknown:
            raise ValueError(f"remote_write {self.url}: unknown key(s) {', '.join(unknown)}")
        try:
            self.http_config()
        except HTTPConfigError as e:
            raise ValueError(f"remote_write {self.url}: {e}") from None
        return self

    @property
    def http(self) -> dict[str, Any]:
        """The HTTP client keys of this entry, as written."""
        return dict(self.model_extra or {})

    @model_serializer(mode="wrap")
    def _hide_secrets(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Shown (``/api/v1/status/config``) with secrets as ``<secret>``, like Prometheus."""
        out: dict[str, Any] = handler(self)
        for k in self.http:
            out.pop(k, None)
        return {**out, **http_config_dict(self.http_config())}

    def http_config(self) -> HTTPConfig:
        """The HTTP client settings (auth, TLS, proxy, ``headers``) of this entry."""
        return parse_http_config_dict({**self.http, "headers": self.headers}, "remote_write")

    @property
    def queue_name(self) -> str:
        """``name``, or a short hash of the URL (Prometheus hashes the config)."""
        return self.name or hashlib.sha256(self.url.encode()).hexdigest()[:6]


def check_unique_names(configs: list[RemoteWriteConfig]) -> None:
    """Two queues with the same name would share a position file: refused, naming both."""
    seen: dict[str, str] = {}
    for c in configs:
        if c.queue_name in seen:
            raise ValueError(f"remote_write: name {c.queue_name!r} is used by both {seen[c.queue_name]} and {c.url}; "
                             "each queue needs its own name")
        seen[c.queue_name] = c.url
