"""``http_config`` (Prometheus' common HTTP client settings) and URLs, with secrets wrapped."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from sloguard.alerting._secret import Secret
from sloguard.alerting._yaml import Node

_HTTP_KEYS = (
    "basic_auth", "authorization", "oauth2", "bearer_token", "bearer_token_file", "tls_config",
    "proxy_url", "proxy_connect_header", "follow_redirects", "enable_http2",
)
_TLS_KEYS = ("ca", "ca_file", "cert", "cert_file", "key", "key_file", "server_name", "insecure_skip_verify",
             "min_version", "max_version")


@dataclass(frozen=True, slots=True)
class TLSConfig:
    """Client TLS settings; file paths as written, ``key`` kept secret."""

    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    key: Secret | None = None
    server_name: str = ""
    insecure_skip_verify: bool = False


@dataclass(frozen=True, slots=True)
class HTTPConfig:
    """How a receiver talks HTTP: authentication, TLS, proxy, redirects (Alertmanager's
    ``http_config``; a receiver without one takes ``global.http_config``)."""

    basic_auth_username: str = ""
    basic_auth_password: Secret | None = None
    authorization_type: str = ""
    authorization_credentials: Secret | None = None
    tls: TLSConfig = TLSConfig()
    proxy_url: str = ""
    follow_redirects: bool = True
    enable_http2: bool = True


def parse_tls(node: Node) -> TLSConfig:
    key = node.opt_text("key")
    return TLSConfig(
        ca_file=node.text("ca_file"), cert_file=node.text("cert_file"), key_file=node.text("key_file"),
        key=Secret(key) if key is not None else None, server_name=node.text("server_name"),
        insecure_skip_verify=node.flag("insecure_skip_verify", False),
    )


def parse_http_config(node: Node) -> HTTPConfig:
    node.check_keys(_HTTP_KEYS)
    basic = node.child("basic_auth", ("username", "password", "password_file", "username_file"))
    auth = node.child("authorization", ("type", "credentials", "credentials_file"))
    bearer = node.opt_text("bearer_token")
    credentials = auth.opt_text("credentials") or bearer
    password = basic.opt_text("password")
    _check_exclusive(node)
    return HTTPConfig(
        basic_auth_username=basic.text("username"),
        basic_auth_password=Secret(password) if password is not None else None,
        authorization_type=auth.text("type", "Bearer") if credentials is not None else "",
        authorization_credentials=Secret(credentials) if credentials is not None else None,
        tls=parse_tls(node.child("tls_config", _TLS_KEYS)),
        proxy_url=node.text("proxy_url"),
        follow_redirects=node.flag("follow_redirects", True),
        enable_http2=node.flag("enable_http2", True),
    )


def _check_exclusive(node: Node) -> None:
    """The common HTTP client's own checks (prometheus/common, as Alertmanager 0.25 vendors it)."""
    bearer = node.has("bearer_token") or node.has("bearer_token_file")
    if node.has("basic_auth") and (node.has("oauth2") or bearer):
        raise node.fail("basic_auth", "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured")
    if node.has("authorization") and bearer:
        raise node.fail("authorization", "authorization is not compatible with bearer_token & bearer_token_file")
    if node.has("proxy_connect_header") and not node.has("proxy_url"):
        raise node.fail("proxy_connect_header", "if proxy_connect_header is configured proxy_url must also be configured")


def check_url(node: Node, key: str) -> str:
    """An http(s) URL with a host, refused with Alertmanager's words otherwise."""
    text = node.text(key)
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https"):
        raise node.fail(key, f'unsupported scheme "{parts.scheme}" for URL')
    if not parts.hostname:
        raise node.fail(key, "missing host for URL")
    return text
