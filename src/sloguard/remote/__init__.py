"""Prometheus-compatible HTTP backends: the query side (:class:`RemoteEngine`, the promql
``Engine`` over ``/api/v1/query`` and friends) and the ruler mode's pieces."""

from __future__ import annotations

from sloguard.remote._backend import QueryBackend, parse_query_backend, parse_remote_read
from sloguard.remote._errors import BackendConfigError, RemoteError, RemoteQueryError
from sloguard.remote.queryable import RemoteEngine

__all__ = [
    "BackendConfigError",
    "QueryBackend",
    "RemoteEngine",
    "RemoteError",
    "RemoteQueryError",
    "parse_query_backend",
    "parse_remote_read",
]
