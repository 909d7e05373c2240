"""Prometheus' web configuration file (``--web.config.file``, the exporter-toolkit format).

    tls_server_config:
      cert_file: server.crt
      key_file: server.key
      client_auth_type: RequireAndVerifyClientCert   # default NoClientCert
      client_ca_file: ca.crt
      min_version: TLS12                             # TLS10..TLS13, default TLS12
      max_version: TLS13
      cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]
    http_server_config:
      headers: {X-Frame-Options: deny, Strict-Transport-Security: max-age=31536000}
    basic_auth_users:
      alice: $2y$10$...                              # bcrypt hash
    sloguard_bearer_tokens_file: tokens.txt          # sloguard extension: one token a line

File names are relative to the web config file. Unknown keys are errors, as in Prometheus.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sloguard.nesting import yaml_load

CLIENT_AUTH_TYPES = {
    "NoClientCert": ssl.CERT_NONE,
    "RequestClientCert": ssl.CERT_OPTIONAL,
    "RequireAnyClientCert": ssl.CERT_REQUIRED,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
TLS_VERSIONS = {
    "TLS10": ssl.TLSVersion.TLSv1, "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2, "TLS13": ssl.TLSVersion.TLSv1_3,
}
#: The headers exporter-toolkit lets ``http_server_config.headers`` set, with allowed values.
ALLOWED_HEADERS: dict[str, tuple[str, ...]] = {
    "Strict-Transport-Security": (),
    "X-Content-Type-Options": ("nosniff",),
    "X-Frame-Options": ("deny", "sameorigin"),
    "X-XSS-Protection": (),
    "Content-Security-Policy": (),
}
_TOP_KEYS = {"tls_server_config", "http_server_config", "basic_auth_users", "sloguard_bearer_tokens_file"}
_TLS_KEYS = {"cert_file", "key_file", "client_auth_type", "client_ca_file", "min_version", "max_version",
             "cipher_suites", "prefer_server_cipher_suites", "curve_preferences", "client_allowed_sans"}
_HTTP_KEYS = {"headers", "http2"}


class WebConfigError(Exception):
    """The web config file is unreadable or invalid; the message names the file and the key."""


@dataclass(frozen=True, slots=True)
class TLSServerConfig:
    """TLS for the listener: the server's certificate and how clients are verified."""

    cert_file: Path
    key_file: Path
    client_auth_type: str = "NoClientCert"
    client_ca_file: Path | None = None
    min_version: str = "TLS12"
    max_version: str = "TLS13"
    cipher_suites: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class WebConfig:
    """The whole web config; an empty one (no file) means plain HTTP without authentication."""

    tls: TLSServerConfig | None = None
    headers: dict[str, str] = field(default_factory=dict)
    basic_auth_users: dict[str, str] = field(default_factory=dict)
    bearer_tokens: tuple[str, ...] = ()

    @property
    def requires_auth(self) -> bool:
        return bool(self.basic_auth_users or self.bearer_tokens)


def load_web_config(path: Path) -> WebConfig:
    """Read and validate ``path``; ``WebConfigError`` naming the file and key if it is wrong."""
    try:
        data = yaml_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise WebConfigError(f"cannot read web config file {path}: {e.strerror or e}") from None
    except yaml.YAMLError as e:
        raise WebConfigError(f"web config file {path} is not valid YAML: {e}") from None
    try:
        return _parse(data or {}, path.parent)
    except WebConfigError as e:
        raise WebConfigError(f"invalid web config file {path}: {e}") from None


def _parse(data: Any, base: Path) -> WebConfig:
    top = _mapping(data, "the top level", _TOP_KEYS)
    http = _mapping(top.get("http_server_config") or {}, "http_server_config", _HTTP_KEYS)
    tls = top.get("tls_server_config")
    return WebConfig(
        tls=_tls(_mapping(tls, "tls_server_config", _TLS_KEYS), base) if tls else None,
        headers=_headers(http.get("headers") or {}),
        basic_auth_users=_users(top.get("basic_auth_users") or {}),
        bearer_tokens=_tokens(top.get("sloguard_bearer_tokens_file"), base),
    )


def _mapping(value: Any, where: str, keys: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise WebConfigError(f"{where} must be a mapping, got {value!r}")
    unknown = sorted(str(k) for k in value if k not in keys)
    if unknown:
        raise WebConfigError(f"field {unknown[0]} not found in {where} (known: {', '.join(sorted(keys))})")
    return value


def _file(value: Any, key: str, base: Path) -> Path:
    if not isinstance(value, str) or not value:
        raise WebConfigError(f"missing {key}")
    path = base / value
    if not path.is_file():
        raise WebConfigError(f"{key} {str(path)!r} does not exist or is not a file")
    return path


def _tls(c: dict[str, Any], base: Path) -> TLSServerConfig:
    auth = str(c.get("client_auth_type") or "NoClientCert")
    if auth not in CLIENT_AUTH_TYPES:
        raise WebConfigError(f"Invalid ClientAuth: {auth} (tls_server_config.client_auth_type; "
                             f"expected one of {', '.join(CLIENT_AUTH_TYPES)})")
    ca = _file(c["client_ca_file"], "tls_server_config.client_ca_file", base) if c.get("client_ca_file") else None
    if ca is not None and auth == "NoClientCert":
        raise WebConfigError("Client CA's have been configured without a Client Auth Policy "
                             "(tls_server_config.client_ca_file without client_auth_type)")
    if ca is None and auth != "NoClientCert":  # Python's ssl always verifies a client certificate
        raise WebConfigError(f"tls_server_config.client_auth_type {auth} needs client_ca_file")
    versions = [str(c.get(k) or d) for k, d in (("min_version", "TLS12"), ("max_version", "TLS13"))]
    for key, v in zip(("min_version", "max_version"), versions, strict=True):
        if v not in TLS_VERSIONS:
            raise WebConfigError(f"unknown TLS version: {v} (tls_server_config.{key}; expected TLS10..TLS13)")
    return TLSServerConfig(
        cert_file=_file(c.get("cert_file"), "tls_server_config.cert_file", base),
        key_file=_file(c.get("key_file"), "tls_server_config.key_file", base),
        client_auth_type=auth, client_ca_file=ca, min_version=versions[0], max_version=versions[1],
        cipher_suites=tuple(str(s) for s in c.get("cipher_suites") or ()),
    )


def _headers(h: Any) -> dict[str, str]:
    if not isinstance(h, dict):
        raise WebConfigError(f"http_server_config.headers must be a mapping, got {h!r}")
    for name, value in h.items():
        allowed = ALLOWED_HEADERS.get(str(name))
        if allowed is None:
            raise WebConfigError(f'HTTP header "{name}" can not be configured (http_server_config.headers)')
        if allowed and str(value) not in allowed:
            raise WebConfigError(f'invalid value for {name}. Expected one of: {list(allowed)}, but got: "{value}"')
    return {str(k): str(v) for k, v in h.items()}


def _users(u: Any) -> dict[str, str]:
    if not isinstance(u, dict):
        raise WebConfigError(f"basic_auth_users must be a mapping of user name to bcrypt hash, got {u!r}")
    for name, hashed in u.items():
        if not isinstance(hashed, str) or not hashed.startswith(("$2a$", "$2b$", "$2y$")):
            raise WebConfigError(f"basic_auth_users.{name} is not a bcrypt hash (expected $2a$/$2b$/$2y$...)")
    return {str(k): str(v) for k, v in u.items()}


def _tokens(value: Any, base: Path) -> tuple[str, ...]:
    if value is None:
        return ()
    path = _file(value, "sloguard_bearer_tokens_file", base)
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    tokens = tuple(t for t in lines if t and not t.startswith("#"))
    if not tokens:
        raise WebConfigError(f"sloguard_bearer_tokens_file {str(path)!r} holds no token")
    return tokens


def ssl_context(tls: TLSServerConfig) -> ssl.SSLContext:
    """The server-side ``SSLContext`` for ``tls``; ``WebConfigError`` if a file does not load."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = TLS_VERSIONS[tls.min_version]
    ctx.maximum_version = TLS_VERSIONS[tls.max_version]
    try:
        ctx.load_cert_chain(str(tls.cert_file), str(tls.key_file))
        if tls.client_ca_file is not None:
            ctx.load_verify_locations(cafile=str(tls.client_ca_file))
        if tls.cipher_suites:
            ctx.set_ciphers(":".join(_openssl_cipher(s) for s in tls.cipher_suites))
    except (ssl.SSLError, OSError) as e:
        raise WebConfigError(f"cannot load TLS certificate/key ({tls.cert_file}, {tls.key_file}): {e}") from None
    ctx.verify_mode = CLIENT_AUTH_TYPES[tls.client_auth_type]
    return ctx


def _openssl_cipher(go_name: str) -> str:
    """Go's ``TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`` -> OpenSSL's ``ECDHE-RSA-AES128-GCM-SHA256``."""
    name = go_name.removeprefix("TLS_").replace("_WITH_", "_")
    name = name.replace("AES_128", "AES128").replace("AES_256", "AES256").replace("CHACHA20_POLY1305", "CHACHA20-POLY1305")
    return name.replace("_", "-")
