"""The server's PromQL engine and the query bounds its API and parser read."""

from __future__ import annotations

import importlib
import logging
from typing import Any

from sloguard.api._memory import default_memory_limit
from sloguard.config import QuerySettings
from sloguard.parselimits import ParseLimits, set_default_limits
from sloguard.tsdb import Storage

log = logging.getLogger("sloguard.server")


def make_engine(storage: Storage, query: QuerySettings | None = None) -> Any:
    """The PromQL engine over ``storage`` for the query API and the rules (``None`` if
    unavailable), bounded by the ``query:`` settings (``--query.*`` flags applied)."""
    try:
        module = importlib.import_module("sloguard.promql.engine")
    except ImportError:
        log.warning("PromQL engine unavailable; /api/v1/query answers 'unavailable'")
        return None
    q = query or QuerySettings()
    options = module.EngineOptions(
        lookback_delta_ms=q.lookback_delta, max_samples=q.max_samples, timeout_s=q.timeout / 1000,
        max_concurrent=q.max_concurrency, max_parse_depth=q.max_parse_depth,
        max_parse_chain=q.max_parse_chain,
    )
    return module.PromQLEngine(storage, options)


def query_settings(query: QuerySettings) -> dict[str, Any]:
    """``ctx.settings`` entries the query API and ``Params`` read (see ``api._query``)."""
    return {
        "query_timeout": query.timeout / 1000,
        "query_max_concurrency": query.max_concurrency,
        "query_max_samples": query.max_samples,
        "query_lookback_delta_ms": query.lookback_delta,
        "max_body_bytes": query.max_body_bytes,
        "query_memory_limit": query.memory_limit or default_memory_limit(),
        "query_max_parse_depth": query.max_parse_depth,
        "query_max_parse_chain": query.max_parse_chain,
    }


def apply_parse_limits(max_depth: int, max_chain: int) -> None:
    """Make ``--query.max-parse-depth``/``-chain`` the process-wide PromQL parse limits
    (every parse path reads ``sloguard.parselimits``' default: queries, match[], rules, SLOs)."""
    set_default_limits(ParseLimits(max_depth, max_chain))
