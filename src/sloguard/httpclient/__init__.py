"""prometheus/common's HTTP client settings, shared by alerting receivers and remote backends.

The settings are frozen dataclasses (:class:`HTTPConfig`, :class:`TLSConfig`,
:class:`OAuth2Config`, :class:`Secret`); :func:`http_client` and :func:`sync_http_client`
build ``httpx`` clients that honour them; :func:`parse_http_config_dict` reads the keys from a
plain mapping (Prometheus' ``basic_auth``, ``authorization``, ``bearer_token(_file)``,
``oauth2``, ``tls_config``, ``proxy_url``, ``follow_redirects``, ``headers``);
:class:`H1Client` is a lean keep-alive HTTP/1.1 client for many small POSTs. This package
imports nothing else of sloguard.
"""

from __future__ import annotations

from sloguard.httpclient._client import (
    HTTPConfigError,
    http_client,
    read_secret_file,
    ssl_context,
    sync_http_client,
)
from sloguard.httpclient._h1 import H1Client, H1Response
from sloguard.httpclient._h1parse import chunk_size
from sloguard.httpclient._model import (
    TLS_VERSIONS,
    HTTPConfig,
    OAuth2Config,
    TLSConfig,
    join_dir,
    with_directory,
)
from sloguard.httpclient._parse import (
    HTTP_KEYS,
    HTTPConfigParseError,
    http_config_dict,
    parse_http_config_dict,
)
from sloguard.httpclient._secret import SECRET_TOKEN, Secret

__all__ = [
    "chunk_size",
    "HTTP_KEYS",
    "SECRET_TOKEN",
    "TLS_VERSIONS",
    "HTTPConfig",
    "HTTPConfigError",
    "H1Client",
    "H1Response",
    "HTTPConfigParseError",
    "OAuth2Config",
    "Secret",
    "TLSConfig",
    "http_client",
    "http_config_dict",
    "join_dir",
    "parse_http_config_dict",
    "read_secret_file",
    "ssl_context",
    "sync_http_client",
    "with_directory",
]
