"""Opening the server's storage from config, and its maintenance hooks.

The embedded TSDB (``sloguard.tsdb.TSDB``) is used when it is available; otherwise the
server falls back to the in-memory test store with a loud warning (nothing is durable).
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Any

from sloguard.config import TSDBSettings
from sloguard.tsdb import Storage

log = logging.getLogger(__name__)


def tsdb_options(settings: TSDBSettings) -> Any:
    """``TSDBOptions`` for the embedded TSDB from the config's ``storage.tsdb``."""
    tsdb = importlib.import_module("sloguard.tsdb")
    fsync = tsdb.FsyncPolicy(settings.fsync.value)
    return tsdb.TSDBOptions(
        fsync=fsync,
        fsync_interval_ms=settings.fsync_interval,
        block_duration_ms=settings.block_duration,
        retention_ms=settings.retention_time,
        retention_bytes=settings.retention_size,
        max_series=settings.max_series,
        max_series_per_metric=settings.max_series_per_metric,
    )


def open_storage(data_dir: Path, settings: TSDBSettings) -> Storage:
    """Open (creating if needed) the store under ``data_dir``; may replay a WAL (slow)."""
    tsdb = importlib.import_module("sloguard.tsdb")
    if not hasattr(tsdb, "TSDB"):
        # TODO(tsdb): remove once sloguard.tsdb.TSDB exists everywhere.
        from sloguard.tsdb.testing import MemoryStorage

        log.warning("embedded TSDB unavailable; using in-memory storage (data is NOT durable)")
        return MemoryStorage()
    data_dir.mkdir(parents=True, exist_ok=True)
    return tsdb.TSDB.open(data_dir, tsdb_options(settings))  # type: ignore[no-any-return]  # logs the WAL replay


def maintain(storage: Storage) -> None:
    """Cut blocks, compact and apply retention, if the storage can (run off the event loop)."""
    for name in ("compact", "apply_retention"):
        fn = getattr(storage, name, None)
        if callable(fn):
            fn()


def close_storage(storage: Storage) -> None:
    """Flush and close the storage (the WAL is synced; the head may be persisted)."""
    close = getattr(storage, "close", None)
    if callable(close):
        close()
