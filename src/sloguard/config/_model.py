"""The server configuration file, shaped like Prometheus' ``prometheus.yml``.

```yaml
global: {scrape_interval: 15s, scrape_timeout: 10s, evaluation_interval: 1m, external_labels: {}}
scrape_configs: [...]            # Prometheus scrape configs, validated by sloguard.ingest
rule_files: ["rules/*.yml"]      # globs, relative to this file
slo_files: ["slos/*.yml"]        # Sloth / OpenSLO / native SLO specs, globs relative to this file
rollout_files: ["rollouts/*.yml"]  # rollouts (+ AnalysisTemplates) started by name: `rollout start --name N`
alerting: {alertmanagers: [{static_configs: [{targets: ["127.0.0.1:9093"]}]}]}
alerting_config_file: alertmanager.yml   # Alertmanager YAML for the built-in pipeline (relative to this file)
alerting_slo_inhibit: true       # a firing SLO page mutes the same SLO's ticket
state: {url: "postgresql://user:pass@host:5432/db"}   # default: SQLite in the data dir
cluster: {enabled: false, replica_name: "", advertise_url: "", heartbeat_interval: 2s, lease_ttl: 10s,  # needs PostgreSQL
          http_config: {basic_auth: {username: peer, password_file: peer-pass}}}  # how replicas call each other
storage:
  tsdb: {retention_time: 15d, retention_size: 0, block_duration: 2h, fsync: per_commit,
         max_series: 0, max_series_per_metric: 0}
remote_write_receiver: {max_body_bytes: 32MB, max_decompressed_bytes: 64MB,
                        label_limit: 128, label_name_length_limit: 1024, label_value_length_limit: 65536}
query: {timeout: 2m, max_samples: 50000000, max_concurrency: 20, lookback_delta: 5m,
        max_body_bytes: 10MiB, memory_limit: 0, max_parse_depth: 200, max_parse_chain: 300}
query_backend: {url: "http://victoria:8428", timeout: 2m, retries: 3}   # sloguard.remote; or remote_read: [{url: ...}]
query_backends: {payments-vm: {url: "http://vm.payments:8428"}}   # named, for SLOs that read another backend
slo_query_backends: {"payments-*": payments-vm}   # SLO name glob -> name (or query_backend: in a native spec)
remote_write: [{url: "http://victoria:8428/api/v1/write", queue_config: {max_shards: 50}}]  # sloguard.remote.write
mode: embedded                   # or ruler: no long-term local storage, needs query_backend and remote_write
```
"""

from __future__ import annotations

import enum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_serializer,
    field_validator,
    model_validator,
)

from sloguard.ingest.scrape_config import ByteSize, Duration, GlobalConfig, format_duration


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class FsyncPolicy(enum.Enum):
    """When the WAL is fsynced: before acknowledging each commit, on a timer, or never."""

    PER_COMMIT = "per_commit"
    INTERVAL = "interval"
    NEVER = "never"


class TSDBSettings(_Strict):
    """Options of the embedded TSDB (durations in milliseconds, as everywhere in the
    config models). ``0`` for a limit or retention means "none"."""

    retention_time: Duration = 15 * 86_400_000
    retention_size: Annotated[ByteSize, Field(ge=0)] = 0
    block_duration: Duration = 2 * 3_600_000
    fsync: FsyncPolicy = FsyncPolicy.PER_COMMIT
    fsync_interval: Duration = 1000
    max_series: int = Field(default=0, ge=0)
    max_series_per_metric: int = Field(default=0, ge=0)

    @field_validator("block_duration")
    @classmethod
    def _block_at_least_a_minute(cls, v: int) -> int:
        if v < 60_000:
            raise ValueError(f"block_duration must be at least 1m, got {format_duration(v)}")
        return v


class StorageSettings(_Strict):
    tsdb: TSDBSettings = Field(default_factory=TSDBSettings)


class RemoteWriteReceiverSettings(_Strict):
    """``POST /api/v1/write``: bodies larger than ``max_body_bytes`` get 413; bodies whose
    snappy header declares more than ``max_decompressed_bytes`` get 400 before they are
    decompressed. Series over a label limit (names as in Prometheus' scrape configs;
    lengths in bytes; ``0`` = no such limit, only the storage's hard bounds of 65,535
    labels and 65,535-byte names) are refused with a 400 naming them, after the request's
    other series are stored."""

    max_body_bytes: Annotated[ByteSize, Field(gt=0)] = 32 * 1024 * 1024
    max_decompressed_bytes: Annotated[ByteSize, Field(gt=0)] = 64 * 1024 * 1024
    label_limit: int = Field(default=128, ge=0)
    label_name_length_limit: int = Field(default=1024, ge=0)
    label_value_length_limit: int = Field(default=64 * 1024, ge=0)


class QuerySettings(_Strict):
    """The query engine's bounds (Prometheus' ``--query.*`` flags; a flag given on the
    command line overrides the key). ``max_body_bytes`` caps a request's form body
    (larger ones get 413; Go's ``ParseForm`` stops at 10 MiB); ``memory_limit`` is the
    process RSS above which new queries get 503 (``0``: 80% of the machine's memory or
    of the cgroup limit). The parse limits bound nesting depth and operator chains."""

    timeout: Annotated[Duration, Field(gt=0)] = 120_000
    max_samples: int = Field(default=50_000_000, gt=0)
    max_concurrency: int = Field(default=20, gt=0)
    lookback_delta: Annotated[Duration, Field(gt=0)] = 300_000
    max_body_bytes: Annotated[ByteSize, Field(gt=0)] = 10 * 1024 * 1024
    memory_limit: Annotated[ByteSize, Field(ge=0)] = 0
    # bounded above: the Rust parser and the evaluator recurse per level (checked to 1,000)
    max_parse_depth: int = Field(default=200, gt=0, le=1000)
    max_parse_chain: int = Field(default=300, gt=0, le=1000)


class AlertmanagerStaticConfig(_Strict):
    targets: list[str] = Field(default_factory=list)


class AlertmanagerConfig(_Strict):
    """One ``alerting.alertmanagers`` entry (static targets; API v2 only, like Prometheus 2.42's default)."""

    static_configs: list[AlertmanagerStaticConfig] = Field(default_factory=list)
    scheme: Literal["http", "https"] = "http"
    path_prefix: str = ""
    timeout: Duration = 10_000
    api_version: Literal["v2"] = "v2"

    def urls(self) -> list[str]:
        """Base URLs (``http://host:9093/prefix``); the notifier appends ``/api/v2/alerts``."""
        prefix = "/" + self.path_prefix.strip("/") if self.path_prefix.strip("/") else ""
        return [f"{self.scheme}://{t}{prefix}" for sc in self.static_configs for t in sc.targets]


class AlertingSettings(_Strict):
    """Where alerts from ``rule_files`` go (Prometheus' ``alerting`` block, static targets)."""

    alertmanagers: list[AlertmanagerConfig] = Field(default_factory=list)

    def urls(self) -> list[str]:
        return [u for am in self.alertmanagers for u in am.urls()]


class StateSettings(_Strict):
    """Where silences, the notification log and leases live (``sloguard.state``)."""

    #: ``sqlite:///PATH`` or ``postgresql://...``; empty: ``<data dir>/state.db``.
    url: str = ""


class ServerMode(enum.Enum):
    """``embedded``: the local TSDB stores everything (the default); ``ruler``: reads go to
    ``query_backend``, rule and SLO outputs go back through ``remote_write``, and the local
    TSDB only holds the write queue's short WAL (Thanos Ruler, Mimir ruler)."""

    EMBEDDED = "embedded"
    RULER = "ruler"


def _backend(value: Any, path: str) -> Any:
    from sloguard.remote import BackendConfigError, parse_query_backend, parse_remote_read

    if value is None:
        return None
    try:
        backend = parse_query_backend(value, path) if path == "query_backend" else parse_remote_read(value, path)
    except BackendConfigError as e:
        raise ValueError(str(e).removeprefix(path).lstrip(".: ") or str(e)) from None
    return backend


def _http_config(value: Any) -> Any:
    from sloguard.httpclient import HTTPConfig, HTTPConfigParseError, parse_http_config_dict

    if isinstance(value, HTTPConfig):
        return value
    try:
        return parse_http_config_dict(value, "", strict=True)
    except HTTPConfigParseError as e:
        raise ValueError(str(e)) from None


class ClusterSettings(_Strict):
    """High availability and sharding over the PostgreSQL state store (``sloguard.cluster``):
    rule groups and rollouts shared out over the live replicas, each under a lease.
    ``replica_name`` must differ between replicas (empty: ``<hostname>:<port>``)."""

    enabled: bool = False
    replica_name: str = ""
    #: The URL other replicas reach this one at (alerts fan out to it); empty: the listen
    #: address, with a wildcard host (0.0.0.0, ::) replaced by this host's address.
    advertise_url: str = ""
    heartbeat_interval: Annotated[Duration, Field(gt=0)] = 2_000
    lease_ttl: Annotated[Duration, Field(gt=0)] = 10_000
    #: How this replica calls the others (alerts fanned out to their ``/api/v2/alerts``):
    #: prometheus/common's client keys (``basic_auth``, ``authorization``, ``tls_config``,
    #: ...), a ``sloguard.httpclient.HTTPConfig`` once validated; file paths relative to
    #: the config file. Needed when the replicas' web config requires authentication.
    http_config: Any = Field(default_factory=lambda: _http_config({}))

    @field_validator("http_config", mode="before")
    @classmethod
    def _peer_http(cls, v: Any) -> Any:
        return _http_config(v)

    @field_serializer("http_config")
    def _show_peer_http(self, v: Any) -> Any:
        from sloguard.httpclient import http_config_dict

        return http_config_dict(v)

    @model_validator(mode="after")
    def _ttl_covers_heartbeats(self) -> ClusterSettings:
        if self.lease_ttl < 2 * self.heartbeat_interval:
            raise ValueError(
                f"cluster.lease_ttl ({format_duration(self.lease_ttl)}) must be at least twice "
                f"cluster.heartbeat_interval ({format_duration(self.heartbeat_interval)}): "
                "one late heartbeat must not lose every lease"
            )
        return self


class Config(_Strict):
    """A whole, validated server config. ``global`` and ``scrape_configs`` are the ingest
    package's models (``GlobalConfig``, ``ScrapeConfig``; durations in milliseconds);
    ``scrape_configs`` holds ``ScrapeConfig`` objects once validated by ``load_config``."""

    global_: GlobalConfig = Field(default_factory=GlobalConfig, alias="global")
    scrape_configs: list[Any] = Field(default_factory=list)
    rule_files: list[str] = Field(default_factory=list)
    #: SLO spec files (Sloth, OpenSLO or native; globs relative to this file). Their
    #: generated rules are evaluated with the rule files; budgets are at /api/v1/slos.
    slo_files: list[str] = Field(default_factory=list)
    #: Rollout specs with their AnalysisTemplates (globs relative to this file) the server
    #: knows: a start that names one without sending a spec reads them (never started alone).
    rollout_files: list[str] = Field(default_factory=list)
    alerting: AlertingSettings = Field(default_factory=AlertingSettings)
    #: The built-in pipeline's Alertmanager config (relative to this file); empty: alerts
    #: go to the built-in log route (``sloguard.alerting.defaults``).
    alerting_config_file: str = ""
    #: Add the inhibit rule by which an SLO's firing page mutes its ticket.
    alerting_slo_inhibit: bool = True
    state: StateSettings = Field(default_factory=StateSettings)
    cluster: ClusterSettings = Field(default_factory=ClusterSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    remote_write_receiver: RemoteWriteReceiverSettings = Field(default_factory=RemoteWriteReceiverSettings)
    query: QuerySettings = Field(default_factory=QuerySettings)
    #: A Prometheus-compatible query API (``sloguard.remote.QueryBackend`` once validated):
    #: when set, rules, SLO budgets and history, the query API, the UI and analyses read it.
    #: ``remote_read`` (Prometheus' list, one entry) is accepted in its place.
    query_backend: Any = None
    remote_read: Any = None
    #: Named query backends (``query_backend``'s keys) that an SLO may read instead of the
    #: server's: its rules' SLI queries, budget and history (native spec ``query_backend:``).
    query_backends: dict[str, Any] = Field(default_factory=dict)
    #: SLO name or glob (``checkout-*``) -> a ``query_backends`` name, for specs of any format.
    slo_query_backends: dict[str, str] = Field(default_factory=dict)
    mode: ServerMode = ServerMode.EMBEDDED
    #: Where recorded series are sent (``sloguard.remote.write.RemoteWriteConfig`` entries,
    #: Prometheus' keys), read from the WAL by one queue each.
    remote_write: list[Any] = Field(default_factory=list)

    @field_validator("remote_write", mode="before")
    @classmethod
    def _remote_write(cls, v: Any) -> Any:
        from sloguard.remote.write import RemoteWriteConfig, check_unique_names

        if v is None:
            return []
        if not isinstance(v, list):
            raise ValueError(f"remote_write must be a list of entries, got {type(v).__name__}")
        out = [c if isinstance(c, RemoteWriteConfig) else RemoteWriteConfig.model_validate(c) for c in v]
        check_unique_names(out)
        return out

    @field_validator("query_backend", mode="before")
    @classmethod
    def _query_backend(cls, v: Any) -> Any:
        return _backend(v, "query_backend")

    @field_validator("query_backends", mode="before")
    @classmethod
    def _query_backends(cls, v: Any) -> Any:
        if v is None:
            return {}
        if not isinstance(v, dict):
            raise ValueError(f"query_backends must map names to backends, got {type(v).__name__}")
        out = {}
        for name, b in v.items():
            try:
                out[str(name)] = _backend(b, "query_backend")
            except ValueError as e:
                raise ValueError(f"{name}: {e}") from None
            if out[str(name)] is None:
                raise ValueError(f"{name}: needs a url")
        return out

    @field_validator("remote_read", mode="before")
    @classmethod
    def _remote_read(cls, v: Any) -> Any:
        return _backend(v, "remote_read")

    @model_validator(mode="after")
    def _one_backend(self) -> Config:
        if self.query_backend is not None and self.remote_read is not None:
            raise ValueError("query_backend and remote_read both name a query backend; keep one")
        for pattern, name in self.slo_query_backends.items():
            if name not in self.query_backends:
                known = ", ".join(sorted(self.query_backends)) or "none"
                raise ValueError(f"slo_query_backends.{pattern}: unknown query backend {name!r} "
                                 f"(query_backends defines: {known})")
        if self.mode is ServerMode.RULER and self.backend() is None:
            raise ValueError("mode: ruler reads everything from a query backend; set query_backend (or remote_read)")
        if self.mode is ServerMode.RULER and not self.remote_write:
            raise ValueError("mode: ruler writes rule and SLO outputs back through remote write; set remote_write")
        return self

    @field_serializer("query_backend")
    def _show_backend(self, v: Any) -> Any:
        return v.config_dict() if v is not None else None

    @field_serializer("query_backends")
    def _show_backends(self, v: dict[str, Any]) -> Any:
        return {k: b.config_dict() for k, b in v.items()}

    @field_serializer("remote_read")
    def _show_remote_read(self, v: Any) -> Any:
        return [v.config_dict()] if v is not None else None

    def backend(self) -> Any:
        """The query backend (a ``sloguard.remote.QueryBackend``), ``None`` for the embedded store."""
        return self.query_backend if self.query_backend is not None else self.remote_read
