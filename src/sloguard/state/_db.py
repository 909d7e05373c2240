"""The engine behind a state URL: SQLite (WAL, synchronous FULL) or PostgreSQL (psycopg 3).

Every repository talks to the database through :class:`Database`: one short transaction
per operation, committed before the call returns, with the driver's connection errors
turned into :class:`StateUnavailable`.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, Engine, make_url

from sloguard.state._errors import StateError, StateUnavailable, StateURLError

SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite writer waits for another writer's lock before giving up."""
PG_CONNECT_TIMEOUT_S = 5
"""How long a PostgreSQL connection attempt may take before the store says it is unavailable."""

_DRIVERS = {"sqlite": "sqlite+pysqlite", "postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg"}
_NOW_MS = {
    "sqlite": "SELECT CAST(ROUND((julianday('now') - 2440587.5) * 86400000.0) AS INTEGER)",
    "postgresql": "SELECT CAST(FLOOR(EXTRACT(EPOCH FROM clock_timestamp()) * 1000) AS BIGINT)",
}


def parse_url(url: str) -> URL:
    """The SQLAlchemy URL for a state URL, with the driver this package uses."""
    try:
        u = make_url(url)
    except exc.ArgumentError as e:
        raise StateURLError(f"The state URL {url!r} is not a database URL: {e}.") from None
    backend = u.drivername.split("+", 1)[0]
    if backend not in _DRIVERS:
        raise StateURLError(
            f"The state URL {redact(u)!r} names the database {backend!r}; "
            "use sqlite:///PATH or postgresql://USER@HOST:PORT/DB."
        )
    if backend == "sqlite" and u.database in (None, "", ":memory:"):
        raise StateURLError(
            f"The state URL {url!r} names no SQLite file; state must survive a restart, so give a path (sqlite:///PATH)."
        )
    return u.set(drivername=_DRIVERS[backend])


def redact(url: URL) -> str:
    """The URL as text with its password hidden (for messages and logs)."""
    return url.render_as_string(hide_password=True)


def create_engine(url: URL) -> Engine:
    """An engine for ``url`` (from :func:`parse_url`); SQLite's file directory is created."""
    if url.get_backend_name() == "sqlite":
        assert url.database is not None  # checked by parse_url
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        _configure_sqlite(engine)
        return engine
    return sa.create_engine(
        url,
        pool_pre_ping=True,  # a connection from before a database restart is replaced, not used
        connect_args={"connect_timeout": PG_CONNECT_TIMEOUT_S},
    )


def _configure_sqlite(engine: Engine) -> None:
    """WAL, synchronous FULL, a busy timeout, and ``BEGIN IMMEDIATE`` for every transaction.

    pysqlite's own transaction handling is turned off (``isolation_level = None``) so the
    transactions SQLAlchemy begins are real ones that take the write lock up front: two
    writers then queue on the busy timeout instead of failing on a lock upgrade.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        _wal(cur)
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _wal(cur: Any) -> None:
    """``PRAGMA journal_mode=WAL``, tried again while another connection holds the lock it
    needs: SQLite answers "database is locked" at once here, without its busy handler (two
    processes opening a new state file together, one of them creating the tables)."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class Database:
    """An engine with the helpers the repositories share."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self.where = redact(engine.url)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One transaction, committed when the block ends (rolled back on an error)."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except (exc.OperationalError, exc.InterfaceError, exc.TimeoutError) as e:
            raise StateUnavailable(f"The state database {self.where} is unavailable: {_reason(e)}.") from e
        except exc.DBAPIError as e:
            if e.connection_invalidated:
                raise StateUnavailable(f"The state database {self.where} dropped the connection: {_reason(e)}.") from e
            raise StateError(f"The state database {self.where} refused an operation: {_reason(e)}.") from e

    def now_ms(self, conn: Connection) -> int:
        """The database's clock in UTC epoch milliseconds (one clock for every replica)."""
        return int(conn.exec_driver_sql(_NOW_MS[self.dialect]).scalar_one())

    def insert(self, table: sa.Table) -> Any:
        """The dialect's INSERT (it has ``on_conflict_do_nothing`` / ``on_conflict_do_update``)."""
        if self.dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    def close(self) -> None:
        self.engine.dispose()


def _reason(e: exc.SQLAlchemyError) -> str:
    orig = getattr(e, "orig", None)
    text = str(orig if orig is not None else e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def unnest(types: Sequence[str]) -> str:
    """``unnest(%b::text[], ...)``: rows from one array parameter per column, sent in binary (PostgreSQL)."""
    return "unnest(" + ", ".join(f"%b::{t}[]" for t in types) + ")"


def columns(rows: Sequence[tuple[Any, ...]], n: int) -> tuple[list[Any], ...]:
    """``rows`` as ``n`` column lists (the parameters of :func:`unnest`)."""
    return tuple(map(list, zip(*rows, strict=True))) if rows else tuple([] for _ in range(n))
