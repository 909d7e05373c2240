"""prometheus/common's HTTP client settings as data: TLS, OAuth 2.0, the whole ``http_config``."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from sloguard.httpclient._secret import Secret

TLS_VERSIONS = ("TLS10", "TLS11", "TLS12", "TLS13")


@dataclass(frozen=True, slots=True)
class TLSConfig:
    """Client TLS settings; file paths as written, ``key`` kept secret."""

    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    key: Secret | None = None
    server_name: str = ""
    insecure_skip_verify: bool = False
    min_version: str = ""  #: ``TLS10`` .. ``TLS13`` as written, "" when unset
    max_version: str = ""


@dataclass(frozen=True, slots=True)
class OAuth2Config:
    """The client-credentials grant of prometheus/common's ``oauth2`` block."""

    client_id: str
    client_secret: Secret | None = None
    client_secret_file: str = ""
    token_url: str = ""
    scopes: tuple[str, ...] = ()
    endpoint_params: tuple[tuple[str, str], ...] = ()
    proxy_url: str = ""
    tls: TLSConfig = TLSConfig()


@dataclass(frozen=True, slots=True)
class HTTPConfig:
    """How a client talks HTTP: authentication, TLS, proxy, redirects, extra headers
    (prometheus/common's ``HTTPClientConfig``; Alertmanager's ``http_config``, Prometheus'
    ``remote_read``/``remote_write`` client keys). At most one of basic auth, authorization
    and OAuth 2.0 is set; ``headers`` are sent with every request (never logged)."""

    basic_auth_username: str = ""
    basic_auth_password: Secret | None = None
    authorization_type: str = ""
    authorization_credentials: Secret | None = None
    tls: TLSConfig = TLSConfig()
    proxy_url: str = ""
    follow_redirects: bool = True
    enable_http2: bool = True
    has_basic_auth: bool = False  #: a ``basic_auth`` block was written (its username may be "")
    basic_auth_password_file: str = ""
    authorization_credentials_file: str = ""  #: also what ``bearer_token_file`` becomes
    oauth2: OAuth2Config | None = None
    proxy_connect_header: tuple[tuple[str, tuple[Secret, ...]], ...] = ()
    headers: tuple[tuple[str, Secret], ...] = ()

    def is_default(self) -> bool:
        """Whether this is the ``http_config`` a client gets when nothing is written."""
        return self == HTTPConfig()


def join_dir(base: str, path: str) -> str:
    """prometheus/common's ``JoinDir``: a relative file path joined to the config's directory."""
    if not path or os.path.isabs(path):
        return path
    return os.path.normpath(os.path.join(base, path))


def with_directory(cfg: HTTPConfig, base: str) -> HTTPConfig:
    """Every file path of ``cfg`` (TLS files, password, credentials and client secret files)
    relative to ``base``, as Prometheus and Alertmanager resolve them when they load a file."""
    def tls(t: TLSConfig) -> TLSConfig:
        return replace(t, ca_file=join_dir(base, t.ca_file), cert_file=join_dir(base, t.cert_file),
                       key_file=join_dir(base, t.key_file))
    oauth2 = cfg.oauth2 and replace(cfg.oauth2, client_secret_file=join_dir(base, cfg.oauth2.client_secret_file),
                                    tls=tls(cfg.oauth2.tls))
    return replace(cfg, tls=tls(cfg.tls), oauth2=oauth2,
                   basic_auth_password_file=join_dir(base, cfg.basic_auth_password_file),
                   authorization_credentials_file=join_dir(base, cfg.authorization_credentials_file))
