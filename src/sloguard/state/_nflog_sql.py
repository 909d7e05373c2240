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
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Connection

from sloguard.state._db import columns, unnest

__all__ = ["NflogSql"]

_KEY = "group_key, receiver, integration, idx"
_CLAIM_ROWS = 120  # log entries and claims: 8 parameters a row
_QUERY_KEYS = 900
"""Rows (keys) per statement: under 999 parameters, the limit of SQLite before 3.32."""

Row = tuple[Any, ...]

_LOG_TYPES = ("text", "text", "text", "integer", "bigint", "text", "text", "bigint")
_CLAIM_TYPES = ("text", "text", "text", "integer", "text", "text", "bigint", "bigint")


class NflogSql:
    """The three statements for one dialect (``postgresql`` or ``sqlite``)."""

    def __init__(self, dialect: str) -> None:
        p = self.p = "%s" if dialect == "postgresql" else "?"
        self._arrays = dialect == "postgresql"  # one array per column (see the module)
        self._row8 = f"({', '.join([p] * 8)})"
        self._log_tail = (
            f" ON CONFLICT ({_KEY}) DO UPDATE SET timestamp = excluded.timestamp, firing = excluded.firing, "
            "resolved = excluded.resolved, expires_at = excluded.expires_at "
            "WHERE nflog.timestamp <= excluded.timestamp"  # an older write never replaces a newer one
        )
        self._claim_tail = (
            f" ON CONFLICT ({_KEY}, flush_id) DO UPDATE SET holder = excluded.holder, "
            "claimed_at = excluded.claimed_at, expires_at = excluded.expires_at "
            f"WHERE nflog_claims.holder = excluded.holder OR nflog_claims.expires_at <= {p} "
            f"RETURNING {_KEY}, flush_id"
        )

    def log(self, conn: Connection, rows: Sequence[Row]) -> None:
        """Upsert entries (group_key, receiver, integration, idx, timestamp, firing, resolved,
        expires_at), one per key: multi-row statements (on PostgreSQL an executemany is a
        round of the driver's Python per row)."""
        if self._arrays:
            conn.exec_driver_sql(f"INSERT INTO nflog ({_KEY}, timestamp, firing, resolved, expires_at) "
                                 f"SELECT * FROM {unnest(_LOG_TYPES)}" + self._log_tail, columns(rows, 8))
            return
        for i in range(0, len(rows), _CLAIM_ROWS):
            chunk = rows[i:i + _CLAIM_ROWS]
            sql = f"INSERT INTO nflog ({_KEY}, timestamp, firing, resolved, expires_at) VALUES " + \
                ", ".join([self._row8] * len(chunk)) + self._log_tail
            conn.exec_driver_sql(sql, tuple(v for row in chunk for v in row))

    def claim(self, conn: Connection, rows: Sequence[Row], now: int) -> set[Row]:
        """Claim rows (key, flush_id, holder, claimed_at, expires_at), each key and flush once;
        the (key, flush_id) of those that went in (inserted, or taken over)."""
        if self._arrays:
            sql = (f"INSERT INTO nflog_claims ({_KEY}, flush_id, holder, claimed_at, expires_at) "
                   f"SELECT * FROM {unnest(_CLAIM_TYPES)}" + self._claim_tail)
            return {tuple(r) for r in conn.exec_driver_sql(sql, (*columns(rows, 8), now)).all()}
        won: set[Row] = set()
        for i in range(0, len(rows), _CLAIM_ROWS):
            chunk = rows[i:i + _CLAIM_ROWS]
            sql = f"INSERT INTO nflog_claims ({_KEY}, flush_id, holder, claimed_at, expires_at) VALUES " + \
                ", ".join([self._row8] * len(chunk)) + self._claim_tail
            params = tuple(v for row in chunk for v in row) + (now,)
            won.update(tuple(r) for r in conn.exec_driver_sql(sql, params).all())
        return won

    def query(self, conn: Connection, group_keys: Sequence[str]) -> list[Row]:
        """Entries of these groups: (key..., timestamp, firing, resolved, expires_at)."""
        if self._arrays:
            sql = f"SELECT {_KEY}, timestamp, firing, resolved, expires_at FROM nflog WHERE group_key = ANY(%b::text[])"
            return [tuple(r) for r in conn.exec_driver_sql(sql, (list(group_keys),)).all()]
        found: list[Row] = []
        for i in range(0, len(group_keys), _QUERY_KEYS):
            chunk = group_keys[i:i + _QUERY_KEYS]
            sql = (f"SELECT {_KEY}, timestamp, firing, resolved, expires_at FROM nflog "
                   f"WHERE group_key IN ({', '.join([self.p] * len(chunk))})")
            found.extend(tuple(r) for r in conn.exec_driver_sql(sql, tuple(chunk)).all())
        return found
