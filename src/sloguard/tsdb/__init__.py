"""Embedded time-series store: head + WAL + blocks, inverted index, retention, limits.

``TSDB.open(dir, TSDBOptions(...))`` gives a ``Storage``: ``appender()`` (append,
append_many, commit -> ``AppendResult``), ``querier()`` (select -> ``SeriesBatch``,
series, label_names, label_values), ``compact()``, ``stats()``, ``replay_report``,
``close()``. ``BlockWriter(dir)`` writes blocks directly (backfill).

A data directory holds ``sloguard-tsdb.json`` (marker), ``wal/`` (CRC-framed segments
and the latest ``checkpoint.N``) and one directory per block (``meta.json``, label
sets, offsets and compressed sample frames, memory-mapped when opened).
Arrays in a ``SeriesBatch`` may be read-only views of storage; copy before mutating.
"""

from sloguard.tsdb._backfill import BlockWriter
from sloguard.tsdb._db import TSDB
from sloguard.tsdb._options import (
    FsyncPolicy,
    ReplayReport,
    TSDBOptions,
    TSDBStats,
)
from sloguard.tsdb._shared import SharedSelects
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
    "SharedSelects",
    "Storage",
    "TSDBError",
    "TSDBOptions",
    "TSDBStats",
    "is_stale_nan",
    "stale_mask",
]
