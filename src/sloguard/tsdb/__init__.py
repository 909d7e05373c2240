"""Embedded time-series store: head + WAL + blocks, inverted index, retention, limits."""

from sloguard.tsdb._types import (
    STALE_NAN,
    STALE_NAN_BITS,
    Appender,
    AppendResult,
    Querier,
    RejectReason,
    SeriesBatch,
    Storage,
    TSDBError,
    is_stale_nan,
    stale_mask,
)

__all__ = [
    "STALE_NAN",
    "STALE_NAN_BITS",
    "AppendResult",
    "Appender",
    "Querier",
    "RejectReason",
    "SeriesBatch",
    "Storage",
    "TSDBError",
    "is_stale_nan",
    "stale_mask",
]
