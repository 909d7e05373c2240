"""The state store: a database opened from a URL, its schema migrated, its repositories.

``sqlite:///PATH`` (the default: ``<data-dir>/state.db``) keeps state in one file, in WAL
mode with ``synchronous=FULL``, so a write that returned survives a crash of the process
or the machine. ``postgresql://USER:PASSWORD@HOST:PORT/DB`` lets replicas share it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Protocol

from sloguard.state._db import Database, create_engine, parse_url
from sloguard.state._errors import StateError
from sloguard.state._schema import cluster_members, migrate
from sloguard.state.alert_history import AlertHistoryRepository
from sloguard.state.leases import LeaseRepository
from sloguard.state.nflog import Clock, NotificationLog
from sloguard.state.peers import PeerRegistry
from sloguard.state.rollouts import RolloutRepository
from sloguard.state.silences import SilenceRepository

DEFAULT_FILE = "state.db"
"""The SQLite file, under the data directory, when no state URL is configured."""


class StateStore(Protocol):
    """Durable state: one typed repository per kind, every write committed when it returns."""

    @property
    def silences(self) -> SilenceRepository: ...

    @property
    def nflog(self) -> NotificationLog: ...

    @property
    def leases(self) -> LeaseRepository: ...

    @property
    def peers(self) -> PeerRegistry: ...

    @property
    def rollouts(self) -> RolloutRepository: ...

    @property
    def alert_history(self) -> AlertHistoryRepository: ...

    def close(self) -> None: ...


def wall_clock_ms() -> int:
    """Now, in UTC epoch milliseconds."""
    return time.time_ns() // 1_000_000


def default_url(data_dir: Path) -> str:
    """The state URL used when none is configured: SQLite in the data directory."""
    return f"sqlite:///{(data_dir / DEFAULT_FILE).resolve()}"


class SqlStateStore:
    """A :class:`StateStore` on SQLAlchemy Core (SQLite or PostgreSQL)."""

    def __init__(self, db: Database, schema_version: int, clock: Clock) -> None:
        self._db = db
        self.schema_version = schema_version
        self._silences = SilenceRepository(db, clock)
        self._nflog = NotificationLog(db, clock)
        self._leases = LeaseRepository(db)
        self._peers = PeerRegistry(db)
        self._members = PeerRegistry(db, cluster_members)
        self._rollouts = RolloutRepository(db)
        self._alert_history = AlertHistoryRepository(db, clock)

    @property
    def url(self) -> str:
        """The database's URL with its password hidden."""
        return self._db.where

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._db.dialect

    @property
    def silences(self) -> SilenceRepository:
        return self._silences

    @property
    def nflog(self) -> NotificationLog:
        return self._nflog

    @property
    def leases(self) -> LeaseRepository:
        return self._leases

    @property
    def peers(self) -> PeerRegistry:
        return self._peers

    @property
    def rollouts(self) -> RolloutRepository:
        return self._rollouts

    @property
    def members(self) -> PeerRegistry:
        """The replicas sharing rule groups and rollouts (``sloguard.cluster``), apart from
        the alerting pipeline's ``peers``: their heartbeats run on another period."""
        return self._members

    @property
    def alert_history(self) -> AlertHistoryRepository:
        return self._alert_history

    def close(self) -> None:
        """Close every pooled connection (the store is not used afterwards)."""
        self._db.close()

    def __enter__(self) -> SqlStateStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def open_store(
    url: str | None = None, *, data_dir: Path | None = None, clock: Clock = wall_clock_ms
) -> SqlStateStore:
    """Open the state database at ``url`` (or ``<data_dir>/state.db``) and migrate its schema.

    ``clock`` times silences and the notification log (tests pass a simulated one); leases
    use the database's clock. Raises :class:`StateURLError` for a bad URL,
    :class:`SchemaError` for a schema newer than this code, :class:`StateUnavailable`
    when the database cannot be reached.
    """
    if url is None:
        if data_dir is None:
            raise StateError("open_store needs a state URL or a data directory; it was given neither.")
        url = default_url(data_dir)
    db = Database(create_engine(parse_url(url)))
    try:
        version = migrate(db)
    except BaseException:
        db.close()
        raise
    return SqlStateStore(db, version, clock)
