"""The receivers' HTTP client: built by :mod:`sloguard.httpclient` (re-exported here)."""

from __future__ import annotations

from sloguard.httpclient._client import HTTPConfigError, http_client, read_secret_file, ssl_context

__all__ = ["HTTPConfigError", "http_client", "read_secret_file", "ssl_context"]
