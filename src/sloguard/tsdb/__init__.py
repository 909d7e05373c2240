"""Embedded time-series store: head + WAL + blocks, inverted index, retention, limits."""

from sloguard.tsdb._backfill import BlockWriter
from sloguard.tsdb._db import TSDB
from sloguard.tsdb._options import (
    FsyncPolicy,
    ReplayReport,
    TSDBOptions,
    TSDBStats,
)
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
    "TSDB",
    "AppendResult",
    "Appender",
    "BlockWriter",
    "FsyncPolicy",
    "Querier",
    "RejectReason",
    "ReplayReport",
    "SeriesBatch",
    "Storage",
    "TSDBError",
    "TSDBOptions",
    "TSDBStats",
    "is_stale_nan",
    "stale_mask",
]
