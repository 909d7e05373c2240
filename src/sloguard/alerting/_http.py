"""``http_config`` (Prometheus' common HTTP client settings) read from Alertmanager YAML, and URLs;
the dataclasses live in :mod:`sloguard.httpclient`."""

from __future__ import annotations

from urllib.parse import urlsplit

from sloguard.alerting._errors import AlertingConfigError
from sloguard.alerting._yaml import Node
from sloguard.httpclient._model import TLS_VERSIONS as _TLS_VERSIONS
from sloguard.httpclient._model import HTTPConfig, OAuth2Config, TLSConfig, join_dir, with_directory
from sloguard.httpclient._secret import Secret

__all__ = ["HTTPConfig", "OAuth2Config", "TLSConfig", "check_url", "join_dir", "parse_http_config", "parse_oauth2",
           "parse_tls", "with_directory"]

_HTTP_KEYS = (
    "basic_auth", "authorization", "oauth2", "bearer_token", "bearer_token_file", "tls_config",
    "proxy_url", "proxy_connect_header", "follow_redirects", "enable_http2",
)
_TLS_KEYS = ("ca", "ca_file", "cert", "cert_file", "key", "key_file", "server_name", "insecure_skip_verify",
             "min_version", "max_version")
_OAUTH2_KEYS = ("client_id", "client_secret", "client_secret_file", "scopes", "token_url", "endpoint_params",
                "proxy_url", "tls_config")


def parse_tls(node: Node) -> TLSConfig:
    key = node.opt_text("key")
    return TLSConfig(
        ca_file=node.text("ca_file"), cert_file=node.text("cert_file"), key_file=node.text("key_file"),
        key=Secret(key) if key is not None else None, server_name=node.text("server_name"),
        insecure_skip_verify=node.flag("insecure_skip_verify", False),
        min_version=_tls_version(node, "min_version"), max_version=_tls_version(node, "max_version"),
    )


def _tls_version(node: Node, key: str) -> str:
    text = node.text(key)
    if text and text not in _TLS_VERSIONS:
        raise node.fail(key, f"unknown TLS version: {text}")
    return text


def parse_oauth2(node: Node) -> OAuth2Config | None:
    """``oauth2`` with prometheus/common's checks; None when the block is absent."""
    if not node.data:
        return None
    node.check_keys(_OAUTH2_KEYS)
    if not node.text("client_id"):
        raise AlertingConfigError(node.file, node.path, "oauth2 client_id must be configured")
    if not node.text("client_secret") and not node.text("client_secret_file"):
        raise AlertingConfigError(node.file, node.path, "either oauth2 client_secret or client_secret_file must be configured")
    if not node.text("token_url"):
        raise AlertingConfigError(node.file, node.path, "oauth2 token_url must be configured")
    if node.text("client_secret") and node.text("client_secret_file"):
        raise AlertingConfigError(node.file, node.path,
                                  "at most one of oauth2 client_secret & client_secret_file must be configured")
    secret = node.text("client_secret")
    return OAuth2Config(
        client_id=node.text("client_id"), client_secret=Secret(secret) if secret else None,
        client_secret_file=node.text("client_secret_file"), token_url=node.text("token_url"),
        scopes=node.str_list("scopes") or (), endpoint_params=tuple(node.str_map("endpoint_params").items()),
        proxy_url=node.text("proxy_url"), tls=parse_tls(node.child("tls_config", _TLS_KEYS)),
    )


def _connect_headers(node: Node) -> tuple[tuple[str, tuple[Secret, ...]], ...]:
    headers = node.child("proxy_connect_header")
    return tuple((str(k), tuple(Secret(v) for v in headers.str_list(str(k)) or ())) for k in headers.data)


def parse_http_config(node: Node) -> HTTPConfig:
    node.check_keys(_HTTP_KEYS)
    basic = node.child("basic_auth", ("username", "password", "password_file", "username_file"))
    auth = node.child("authorization", ("type", "credentials", "credentials_file"))
    bearer = node.opt_text("bearer_token")
    credentials = auth.opt_text("credentials") or bearer
    credentials_file = auth.text("credentials_file") or node.text("bearer_token_file")
    password = basic.opt_text("password")
    _check_exclusive(node)
    typ = auth.text("type").strip() or "Bearer"
    return HTTPConfig(
        has_basic_auth=node.has("basic_auth"), basic_auth_password_file=basic.text("password_file"),
        authorization_credentials_file=credentials_file, oauth2=parse_oauth2(node.child("oauth2")),
        proxy_connect_header=_connect_headers(node),
        basic_auth_username=basic.text("username"),
        basic_auth_password=Secret(password) if password is not None else None,
        authorization_type=typ if credentials is not None or credentials_file or node.has("authorization") else "",
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
