"""Opening the server's storage from config, and its maintenance hooks.

The embedded TSDB (``sloguard.tsdb.TSDB``) is used when it is available; otherwise the
server falls back to the in-memory test store with a loud warning (nothing is durable).
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import os
from pathlib import Path
from typing import Any

from sloguard.api._remote_write_setup import wal_keep_hook
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
    # keeps the WAL segments remote write has not sent yet
    options = dataclasses.replace(tsdb_options(settings), wal_keep=wal_keep_hook(data_dir))
    return tsdb.TSDB.open(data_dir, options)  # type: ignore[no-any-return]  # logs the WAL replay


def maintain(storage: Storage) -> None:
    """Cut blocks, compact, apply retention and load new blocks (``sloguard import`` into
    the data directory), if the storage can; run off the event loop, every
    ``maintenance_interval_s`` (60 s), so imported blocks are served within a minute.
    New blocks are verified before use and damaged ones quarantined (``TSDB.reload_blocks``)."""
    for name in ("compact", "apply_retention", "reload_blocks"):
        fn = getattr(storage, name, None)
        if callable(fn):
            fn()


def close_storage(storage: Storage) -> None:
    """Flush and close the storage (the WAL is synced; the head may be persisted)."""
    close = getattr(storage, "close", None)
    if callable(close):
        close()


class DataDirInUse(Exception):
    """Another process holds the data directory's lock."""


class DataDirLock:
    """An exclusive ``flock`` on ``<data_dir>/lock`` for the server's lifetime.

    Two servers writing one WAL would corrupt it; the kernel drops the lock when the
    process dies, even by SIGKILL, so a crash never leaves a stale lock behind.
    """

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            holder = self.path.read_text(errors="replace").strip() or "another process"
            raise DataDirInUse(
                f"data directory {self.path.parent} is in use by {holder} (lock file {self.path})"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"sloguard pid {os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None
