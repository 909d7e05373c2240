"""The notification log's batch statements as driver SQL.

A batch of a few hundred flushes is three statements; through SQLAlchemy's expression
layer each row's parameters were processed in Python (about 20 µs an operation, on the
thread that shares the GIL with the event loop). These are the same statements written
once, the same on SQLite and PostgreSQL but for the placeholder, run with
``exec_driver_sql`` (so errors are still SQLAlchemy's, which ``Database.transaction``
turns into ``StateError``).

On PostgreSQL each statement takes its rows as one array per column (``unnest``): the
statement text stays short and the same, so psycopg converts its placeholders once and
keeps the result, where a multi-row ``VALUES`` of 120 rows (960 placeholders) was parsed
again by psycopg's Python at every call, on the thread that shares the GIL with the event
loop (a quarter of the server's GIL time at 10,000 notifications).

On SQLite the cost is not the statements but the GIL: the driver lets go of it at every
step of a statement, each row of a ``RETURNING`` or a ``SELECT`` included, and while the
event loop is busy (a burst of incoming alerts) the worker thread waits up to the switch
interval (5 ms) to get it back at every one. In the benchmark the first batch of claims
took 0.3 s that way, and no notification left while it waited. So on SQLite a statement
takes as many rows as its parameter limit allows, and the answers come back as one row:
the claims that went in are read back as one JSON array (the rows of this holder claimed
at this batch's time: exactly those the upsert inserted, took over or renewed), the
entries likewise. The first notifications of a burst of 10,000 alerts now leave after
0.15-0.25 s instead of 0.45 s.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy.engine import Connection

from sloguard.state._db import columns, unnest

__all__ = ["NflogSql"]

T = TypeVar("T")
_KEY = "group_key, receiver, integration, idx"
_SQLITE_PARAMS = 32_766 if sqlite3.sqlite_version_info >= (3, 32) else 999
"""Parameters a SQLite statement may take (999 before SQLite 3.32)."""
_ROWS = (_SQLITE_PARAMS - 1) // 8
"""Log entries or claims per SQLite statement (8 parameters a row, one more for the claims)."""
_KEYS = _SQLITE_PARAMS - 2
"""Group keys per SQLite select (two more parameters for the claims' read-back)."""

Row = tuple[Any, ...]

_LOG_TYPES = ("text", "text", "text", "integer", "bigint", "text", "text", "bigint")
_CLAIM_TYPES = ("text", "text", "text", "integer", "text", "text", "bigint", "bigint")


class NflogSql:
    """The three statements for one dialect (``postgresql`` or ``sqlite``); on SQLite each
    takes at most ``rows`` rows or ``keys`` keys (tests make them small)."""

    def __init__(self, dialect: str, rows: int = _ROWS, keys: int = _KEYS) -> None:
        p = self.p = "%s" if dialect == "postgresql" else "?"
        self.rows, self.keys = rows, keys
        self._arrays = dialect == "postgresql"  # one array per column (see the module)
        self._row8 = f"({', '.join([p] * 8)})"
        self._log_tail = (
            f" ON CONFLICT ({_KEY}) DO UPDATE SET timestamp = excluded.timestamp, firing = excluded.firing, "
            "resolved = excluded.resolved, expires_at = excluded.expires_at "
            "WHERE nflog.timestamp <= excluded.timestamp"  # an older write never replaces a newer one
        )
        self._claim_upsert = (
            f" ON CONFLICT ({_KEY}, flush_id) DO UPDATE SET holder = excluded.holder, "
            "claimed_at = excluded.claimed_at, expires_at = excluded.expires_at "
            f"WHERE nflog_claims.holder = excluded.holder OR nflog_claims.expires_at <= {p}"
        )

    def log(self, conn: Connection, rows: Sequence[Row]) -> None:
        """Upsert entries (group_key, receiver, integration, idx, timestamp, firing, resolved,
        expires_at), one per key: multi-row statements (on PostgreSQL an executemany is a
        round of the driver's Python per row)."""
        if self._arrays:
            conn.exec_driver_sql(f"INSERT INTO nflog ({_KEY}, timestamp, firing, resolved, expires_at) "
                                 f"SELECT * FROM {unnest(_LOG_TYPES)}" + self._log_tail, columns(rows, 8))
            return
        for chunk in _chunks(rows, self.rows):
            sql = f"INSERT INTO nflog ({_KEY}, timestamp, firing, resolved, expires_at) VALUES " + \
                ", ".join([self._row8] * len(chunk)) + self._log_tail
            conn.exec_driver_sql(sql, tuple(v for row in chunk for v in row))

    def claim(self, conn: Connection, rows: Sequence[Row], now: int) -> set[Row]:
        """Claim rows (key, flush_id, holder, claimed_at, expires_at), each key and flush once;
        the (key, flush_id) of those that went in (inserted, or taken over)."""
        if self._arrays:
            sql = (f"INSERT INTO nflog_claims ({_KEY}, flush_id, holder, claimed_at, expires_at) "
                   f"SELECT * FROM {unnest(_CLAIM_TYPES)}" + self._claim_upsert + f" RETURNING {_KEY}, flush_id")
            return {tuple(r) for r in conn.exec_driver_sql(sql, (*columns(rows, 8), now)).all()}
        for chunk in _chunks(rows, self.rows):
            sql = f"INSERT INTO nflog_claims ({_KEY}, flush_id, holder, claimed_at, expires_at) VALUES " + \
                ", ".join([self._row8] * len(chunk)) + self._claim_upsert
            conn.exec_driver_sql(sql, (*(v for row in chunk for v in row), now))
        # Read back (see the module): a row of the holder claimed at ``now`` went in now, as
        # the upsert only writes a row it inserts, takes over or renews for the same holder.
        keys_by_holder: dict[str, set[str]] = {}
        for row in rows:
            keys_by_holder.setdefault(row[5], set()).add(row[0])
        won: set[Row] = set()
        for holder, keys in keys_by_holder.items():
            for part in _chunks(sorted(keys), self.keys):
                sql = (f"SELECT json_group_array(json_array({_KEY}, flush_id)) FROM nflog_claims "
                       f"WHERE group_key IN ({', '.join([self.p] * len(part))}) AND holder = ? AND claimed_at = ?")
                won.update(map(tuple, json.loads(conn.exec_driver_sql(sql, (*part, holder, now)).scalar_one())))
        return won

    def query(self, conn: Connection, group_keys: Sequence[str]) -> list[Row]:
        """Entries of these groups: (key..., timestamp, firing, resolved, expires_at)."""
        if self._arrays:
            sql = f"SELECT {_KEY}, timestamp, firing, resolved, expires_at FROM nflog WHERE group_key = ANY(%b::text[])"
            return [tuple(r) for r in conn.exec_driver_sql(sql, (list(group_keys),)).all()]
        found: list[Row] = []
        for chunk in _chunks(group_keys, self.keys):
            sql = (f"SELECT json_group_array(json_array({_KEY}, timestamp, firing, resolved, expires_at)) "
                   f"FROM nflog WHERE group_key IN ({', '.join([self.p] * len(chunk))})")
            found.extend(map(tuple, json.loads(conn.exec_driver_sql(sql, tuple(chunk)).scalar_one())))
        return found


def _chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    """``items`` in runs of ``size`` (a SQLite statement's rows or keys)."""
    return [items[i:i + size] for i in range(0, len(items), size)]
