"""``global`` and ``scrape_configs`` sections of a Prometheus configuration (2.42 subset).

Durations are Prometheus duration strings (``"15s"``, ``"1m30s"``, ``"1h"``, ``"2d"``)
held as integer milliseconds. Unknown keys are errors (``extra="forbid"``), so a pydantic
``ValidationError``'s ``loc`` is the key path. Secrets are ``SecretStr`` and never print.
``resolve`` fills a scrape config's interval and timeout from the global section.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    SecretStr,
    field_validator,
    model_validator,
)

from sloguard.durations import DurationError, format_duration_ms, parse_duration_ms
from sloguard.gofmt import go_quote
from sloguard.ingest._errors import IngestError
from sloguard.ingest.relabel import RelabelConfig
from sloguard.labels import is_valid_label_name

__all__ = [
    "Authorization",
    "BasicAuth",
    "ByteSize",
    "Duration",
    "GlobalConfig",
    "ScrapeConfig",
    "ScrapeConfigError",
    "StaticConfig",
    "TLSConfig",
    "check_unique_job_names",
    "format_duration",
    "parse_duration",
    "resolve",
]

_SIZE = re.compile(r"(\d+)(B|[KMGTPE]i?B)?")
# Prometheus' units.Base2Bytes: "KB" and "KiB" both mean 1024 bytes.
_SIZE_SHIFT = {None: 0, "B": 0, "K": 10, "M": 20, "G": 30, "T": 40, "P": 50, "E": 60}


class ScrapeConfigError(IngestError, ValueError):
    """A scrape configuration that is well-formed but inconsistent (e.g. timeout > interval)."""


def parse_duration(s: str) -> int:
    """A Prometheus duration string to milliseconds; ``"0"`` is zero."""
    try:
        return parse_duration_ms(s)
    except DurationError:
        raise ValueError(f"not a valid duration string: {go_quote(s)} (expected e.g. '15s', '1m30s', '1h')") from None


#: Milliseconds back to Prometheus' spelling (``90000`` -> ``"1m30s"``), as ``model.Duration``.
format_duration = format_duration_ms


def _duration(v: Any) -> Any:
    if isinstance(v, str):
        return parse_duration(v)
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError(f"not a valid duration: {go_quote(v)} (expected a string such as '15s')")
    return v


def _size(v: Any) -> Any:
    if isinstance(v, str):
        m = _SIZE.fullmatch(v)
        if m is None:
            raise ValueError(f"not a valid size: {go_quote(v)} (expected e.g. '10MB')")
        unit = m.group(2)
        return int(m.group(1)) << _SIZE_SHIFT[unit[0] if unit and unit != "B" else unit]
    return v


#: Milliseconds, written in YAML as a Prometheus duration string.
Duration = Annotated[int, BeforeValidator(_duration), PlainSerializer(format_duration, return_type=str)]
ByteSize = Annotated[int, BeforeValidator(_size)]
_STRICT = ConfigDict(extra="forbid", frozen=True)


def _check_label_names(d: dict[str, str]) -> dict[str, str]:
    for name in d:
        if not is_valid_label_name(name):
            raise ValueError(f"{go_quote(name)} is not a valid label name")
    return d


def redact_userinfo(address: str) -> str:
    """``user:pw@host:9100`` -> ``<credentials>@host:9100`` (for error messages and logs)."""
    return "<credentials>@" + address.rpartition("@")[2] if "@" in address else address


def _check_targets(targets: list[str]) -> list[str]:
    """Refuse ``user:password@host`` targets: the password would show in the ``instance``
    label, ``/api/v1/targets`` and the logs (credentials belong in ``basic_auth``)."""
    for t in targets:
        if "@" in t:
            raise ValueError(
                f"target {go_quote(redact_userinfo(t))} contains credentials (user:password@); "
                "set them in the scrape config's basic_auth instead"
            )
    return targets


class BasicAuth(BaseModel):
    model_config = _STRICT
    username: str = ""
    password: SecretStr | None = None
    password_file: str | None = None

    @model_validator(mode="after")
    def _one_password(self) -> BasicAuth:
        if self.password is not None and self.password_file:
            raise ValueError("at most one of basic_auth password & password_file must be configured")
        return self


class Authorization(BaseModel):
    model_config = _STRICT
    type: str = "Bearer"
    credentials: SecretStr | None = None
    credentials_file: str | None = None

    @model_validator(mode="after")
    def _check(self) -> Authorization:
        if self.type.strip().lower() == "basic":
            raise ValueError('authorization type cannot be set to "basic", use "basic_auth" instead')
        if self.credentials is not None and self.credentials_file:
            raise ValueError("at most one of authorization credentials & credentials_file must be configured")
        return self


class TLSConfig(BaseModel):
    model_config = _STRICT
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    server_name: str | None = None
    insecure_skip_verify: bool = False


class StaticConfig(BaseModel):
    """A target group: ``targets`` are ``host:port`` addresses sharing ``labels``."""

    model_config = _STRICT
    targets: list[str] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)

    _names = field_validator("labels")(classmethod(lambda cls, v: _check_label_names(v)))
    _targets = field_validator("targets")(classmethod(lambda cls, v: _check_targets(v)))


class GlobalConfig(BaseModel):
    """The ``global`` section. A timeout not given defaults to min(10s, scrape_interval)."""

    model_config = _STRICT
    scrape_interval: Duration = 60_000
    scrape_timeout: Duration = 10_000
    evaluation_interval: Duration = 60_000
    external_labels: dict[str, str] = Field(default_factory=dict)
    query_log_file: str | None = None
    body_size_limit: ByteSize = 0
    sample_limit: int = Field(default=0, ge=0)
    label_limit: int = Field(default=0, ge=0)
    label_name_length_limit: int = Field(default=0, ge=0)
    label_value_length_limit: int = Field(default=0, ge=0)
    target_limit: int = Field(default=0, ge=0)

    _names = field_validator("external_labels")(classmethod(lambda cls, v: _check_label_names(v)))

    @model_validator(mode="after")
    def _timeout(self) -> GlobalConfig:
        if "scrape_timeout" not in self.model_fields_set and self.scrape_timeout > self.scrape_interval:
            object.__setattr__(self, "scrape_timeout", self.scrape_interval)
        if self.scrape_timeout > self.scrape_interval:
            raise ValueError("global scrape timeout greater than scrape interval")
        return self


class ScrapeConfig(BaseModel):
    """One entry of ``scrape_configs``. ``None`` interval/timeout means "from global"."""

    model_config = _STRICT
    job_name: str = Field(min_length=1)
    scrape_interval: Duration | None = None
    scrape_timeout: Duration | None = None
    metrics_path: str = "/metrics"
    #: Prometheus 2.42 accepts any scheme here and fails the target later; so do we.
    scheme: str = "http"
    params: dict[str, list[str]] = Field(default_factory=dict)
    honor_labels: bool = False
    honor_timestamps: bool = True
    basic_auth: BasicAuth | None = None
    authorization: Authorization | None = None
    bearer_token: SecretStr | None = None
    bearer_token_file: str | None = None
    tls_config: TLSConfig = Field(default_factory=TLSConfig)
    proxy_url: str | None = None
    follow_redirects: bool = True
    enable_http2: bool = True
    static_configs: list[StaticConfig] = Field(default_factory=list)
    relabel_configs: list[RelabelConfig] = Field(default_factory=list)
    metric_relabel_configs: list[RelabelConfig] = Field(default_factory=list)
    body_size_limit: ByteSize = 0
    sample_limit: int = Field(default=0, ge=0)
    label_limit: int = Field(default=0, ge=0)
    label_name_length_limit: int = Field(default=0, ge=0)
    label_value_length_limit: int = Field(default=0, ge=0)
    target_limit: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _check(self) -> ScrapeConfig:
        auths = [self.basic_auth is not None, self.bearer_token is not None, bool(self.bearer_token_file)]
        if sum(auths) > 1:
            raise ValueError("at most one of basic_auth, bearer_token & bearer_token_file must be configured")
        if self.authorization is not None and (auths[1] or auths[2]):
            raise ValueError("at most one of bearer_token, bearer_token_file & authorization must be configured")
        if self.authorization is not None and self.basic_auth is not None:
            raise ValueError("at most one of basic_auth & authorization must be configured")
        if (
            self.scrape_interval is not None
            and self.scrape_timeout is not None
            and self.scrape_timeout > self.scrape_interval
        ):
            raise ValueError(
                f"scrape timeout greater than scrape interval for scrape config with job name {go_quote(self.job_name)}"
            )
        return self

    @property
    def interval_ms(self) -> int:
        """The resolved interval; only valid after ``resolve``."""
        if self.scrape_interval is None:
            raise ScrapeConfigError(f"scrape config {go_quote(self.job_name)} was not resolved against the global config")
        return self.scrape_interval

    @property
    def timeout_ms(self) -> int:
        if self.scrape_timeout is None:
            raise ScrapeConfigError(f"scrape config {go_quote(self.job_name)} was not resolved against the global config")
        return self.scrape_timeout


def resolve(sc: ScrapeConfig, g: GlobalConfig | None = None) -> ScrapeConfig:
    """Fill interval, timeout and limits from ``global`` as Prometheus does."""
    g = g or GlobalConfig()
    interval = sc.scrape_interval if sc.scrape_interval is not None else g.scrape_interval
    if sc.scrape_timeout is not None:
        timeout = sc.scrape_timeout
    else:
        timeout = min(g.scrape_timeout, interval)
    if timeout > interval:
        raise ScrapeConfigError(
            f"scrape timeout greater than scrape interval for scrape config with job name {go_quote(sc.job_name)}"
        )
    update: dict[str, Any] = {"scrape_interval": interval, "scrape_timeout": timeout}
    for limit in ("body_size_limit", "sample_limit", "label_limit", "label_name_length_limit",
                  "label_value_length_limit", "target_limit"):
        if getattr(sc, limit) == 0:
            update[limit] = getattr(g, limit)
    return sc.model_copy(update=update)


def check_unique_job_names(configs: Sequence[ScrapeConfig]) -> None:
    seen: set[str] = set()
    for c in configs:
        if c.job_name in seen:
            raise ScrapeConfigError(f"found multiple scrape configs with job name {go_quote(c.job_name)}")
        seen.add(c.job_name)
