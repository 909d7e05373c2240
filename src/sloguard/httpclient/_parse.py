"""prometheus/common's HTTP client keys read from a plain mapping (a YAML block already loaded),
without pydantic: every error names the key path (``query_backend.tls_config.min_version``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sloguard.httpclient._client import HTTPConfigError
from sloguard.httpclient._model import TLS_VERSIONS, HTTPConfig, OAuth2Config, TLSConfig
from sloguard.httpclient._secret import SECRET_TOKEN, Secret

__all__ = ["HTTP_KEYS", "HTTPConfigParseError", "http_config_dict", "parse_http_config_dict"]

HTTP_KEYS = frozenset((
    "basic_auth", "authorization", "oauth2", "bearer_token", "bearer_token_file", "tls_config",
    "proxy_url", "follow_redirects", "enable_http2", "headers",
))
_BASIC_KEYS = ("username", "password", "password_file")
_AUTH_KEYS = ("type", "credentials", "credentials_file")
_TLS_KEYS = ("ca_file", "cert_file", "key_file", "server_name", "insecure_skip_verify", "min_version", "max_version")
_OAUTH2_KEYS = ("client_id", "client_secret", "client_secret_file", "scopes", "token_url", "endpoint_params",
                "proxy_url", "tls_config")


class HTTPConfigParseError(HTTPConfigError, ValueError):
    """An HTTP client block that Prometheus would refuse; the message starts with the key path."""

    def __init__(self, path: str, detail: str) -> None:
        self.path, self.detail = path, detail
        super().__init__(f"{path}: {detail}" if path else detail)


class _Block:
    """One mapping and its key path, with typed getters that fail naming the key."""

    def __init__(self, data: object, path: str) -> None:
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise HTTPConfigParseError(path, f"expected a mapping, got {type(data).__name__} {data!r}")
        self.data: Mapping[str, Any] = data
        self.path = path

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def check(self, allowed: tuple[str, ...] | frozenset[str]) -> None:
        for key in self.data:
            if key not in allowed:
                raise HTTPConfigParseError(self.at(str(key)), f"unknown key; allowed here: {', '.join(sorted(allowed))}")

    def child(self, key: str, allowed: tuple[str, ...]) -> _Block:
        block = _Block(self.data.get(key), self.at(key))
        block.check(allowed)
        return block

    def text(self, key: str) -> str:
        value = self.data.get(key)
        if value is None:
            return ""
        if not isinstance(value, str):
            raise HTTPConfigParseError(self.at(key), f"expected a string, got {type(value).__name__}")
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise HTTPConfigParseError(self.at(key), f"expected true or false, got {value!r}")
        return value

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None


def parse_tls_dict(block: _Block) -> TLSConfig:
    for key in ("min_version", "max_version"):
        if block.text(key) and block.text(key) not in TLS_VERSIONS:
            raise HTTPConfigParseError(block.at(key), f"unknown TLS version {block.text(key)!r}; "
                                                      f"expected one of {', '.join(TLS_VERSIONS)}")
    return TLSConfig(
        ca_file=block.text("ca_file"), cert_file=block.text("cert_file"), key_file=block.text("key_file"),
        server_name=block.text("server_name"), insecure_skip_verify=block.flag("insecure_skip_verify", False),
        min_version=block.text("min_version"), max_version=block.text("max_version"),
    )


def _oauth2(block: _Block) -> OAuth2Config | None:
    if not block.data:
        return None
    for key in ("client_id", "token_url"):
        if not block.text(key):
            raise HTTPConfigParseError(block.at(key), f"oauth2 {key} must be configured")
    if bool(block.text("client_secret")) == bool(block.text("client_secret_file")):
        raise HTTPConfigParseError(block.path, "exactly one of oauth2 client_secret & client_secret_file "
                                               "must be configured")
    scopes, params = block.data.get("scopes") or [], block.data.get("endpoint_params") or {}
    if not isinstance(scopes, list) or not isinstance(params, Mapping):
        raise HTTPConfigParseError(block.path, "oauth2 scopes must be a list and endpoint_params a mapping")
    secret = block.text("client_secret")
    return OAuth2Config(
        client_id=block.text("client_id"), client_secret=Secret(secret) if secret else None,
        client_secret_file=block.text("client_secret_file"), token_url=block.text("token_url"),
        scopes=tuple(str(s) for s in scopes), endpoint_params=tuple((str(k), str(v)) for k, v in params.items()),
        proxy_url=block.text("proxy_url"), tls=parse_tls_dict(block.child("tls_config", _TLS_KEYS)),
    )


def _headers(block: _Block) -> tuple[tuple[str, Secret], ...]:
    headers = _Block(block.data.get("headers"), block.at("headers"))
    out = []
    for name in headers.data:
        if not isinstance(name, str) or not name or name.lower() in ("authorization", "host"):
            raise HTTPConfigParseError(headers.at(str(name)), "a header name must be a non-empty string other "
                                                              "than Authorization and Host (use the auth keys)")
        out.append((name, Secret(headers.text(name))))
    return tuple(out)


def _exclusive(block: _Block) -> None:
    auths = [k for k in ("basic_auth", "authorization", "oauth2") if block.has(k)]
    if block.has("bearer_token") or block.has("bearer_token_file"):
        auths.append("bearer_token")
    if len(auths) > 1:
        raise HTTPConfigParseError(block.path, f"at most one of basic_auth, authorization, oauth2 and "
                                               f"bearer_token(_file) may be configured; got {', '.join(auths)}")
    if block.has("bearer_token") and block.has("bearer_token_file"):
        raise HTTPConfigParseError(block.path, "at most one of bearer_token & bearer_token_file may be configured")


def parse_http_config_dict(data: object, path: str = "", *, strict: bool = False) -> HTTPConfig:
    """The HTTP client keys of ``data`` (other keys are the caller's unless ``strict``)."""
    block = _Block(data, path)
    if strict:
        block.check(HTTP_KEYS)
    _exclusive(block)
    basic, auth = block.child("basic_auth", _BASIC_KEYS), block.child("authorization", _AUTH_KEYS)
    if basic.text("password") and basic.text("password_file"):
        raise HTTPConfigParseError(basic.path, "at most one of password & password_file may be configured")
    if auth.text("credentials") and auth.text("credentials_file"):
        raise HTTPConfigParseError(auth.path, "at most one of credentials & credentials_file may be configured")
    credentials = auth.text("credentials") or block.text("bearer_token")
    credentials_file = auth.text("credentials_file") or block.text("bearer_token_file")
    typ = auth.text("type").strip() or "Bearer"
    if typ.lower() == "basic":
        raise HTTPConfigParseError(auth.at("type"), 'authorization type cannot be set to "basic", use "basic_auth"')
    password = basic.text("password")
    return HTTPConfig(
        has_basic_auth=block.has("basic_auth"), basic_auth_username=basic.text("username"),
        basic_auth_password=Secret(password) if password else None,
        basic_auth_password_file=basic.text("password_file"),
        authorization_type=typ if credentials or credentials_file or block.has("authorization") else "",
        authorization_credentials=Secret(credentials) if credentials else None,
        authorization_credentials_file=credentials_file,
        oauth2=_oauth2(block.child("oauth2", _OAUTH2_KEYS)),
        tls=parse_tls_dict(block.child("tls_config", _TLS_KEYS)), proxy_url=block.text("proxy_url"),
        follow_redirects=block.flag("follow_redirects", True), enable_http2=block.flag("enable_http2", True),
        headers=_headers(block),
    )


def _shown(secret: Secret | None) -> str | None:
    return SECRET_TOKEN if secret is not None else None


def _drop_empty(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v not in (None, "", {}, [], False) or k == "follow_redirects"}


def _tls_dict(t: TLSConfig) -> dict[str, Any]:
    return _drop_empty({"ca_file": t.ca_file, "cert_file": t.cert_file, "key_file": t.key_file,
                        "server_name": t.server_name, "insecure_skip_verify": t.insecure_skip_verify,
                        "min_version": t.min_version, "max_version": t.max_version})


def http_config_dict(cfg: HTTPConfig) -> dict[str, Any]:
    """``cfg`` as Prometheus' keys, every secret shown as ``<secret>`` (for ``/status/config``)."""
    out: dict[str, Any] = {}
    if cfg.has_basic_auth:
        out["basic_auth"] = _drop_empty({"username": cfg.basic_auth_username, "password_file": cfg.basic_auth_password_file,
                                         "password": _shown(cfg.basic_auth_password)})
    elif cfg.authorization_type:
        out["authorization"] = _drop_empty({"type": cfg.authorization_type,
                                            "credentials": _shown(cfg.authorization_credentials),
                                            "credentials_file": cfg.authorization_credentials_file})
    if cfg.oauth2 is not None:
        o = cfg.oauth2
        out["oauth2"] = _drop_empty({"client_id": o.client_id, "client_secret": _shown(o.client_secret),
                                     "client_secret_file": o.client_secret_file, "token_url": o.token_url,
                                     "scopes": list(o.scopes), "tls_config": _tls_dict(o.tls)})
    out["tls_config"] = _tls_dict(cfg.tls)
    out["proxy_url"], out["follow_redirects"] = cfg.proxy_url, cfg.follow_redirects
    out["headers"] = {name: SECRET_TOKEN for name, _ in cfg.headers}
    return _drop_empty(out)
