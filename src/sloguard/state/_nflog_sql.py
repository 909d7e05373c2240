"""The notification log's batch statements as driver SQL.

A batch of a few hundred flushes is three statements; through SQLAlchemy's expression
layer each row's parameters were processed in Python (about 20 µs an operation, on the
thread that shares the GIL with the event loop). These are the same statements written
once, the same on SQLite and PostgreSQL but for the placeholder, run with
``exec_driver_sql`` (so errors are still SQLAlchemy's, which ``Database.transaction``
turns into ``StateError``).

On SQLite the rows a batch reads come back as one row (``json_group_array``), and the
claims that went in are read back with one such select instead of ``RETURNING``: Python's
sqlite3 module gives the GIL up around every step of a statement (one step per row) and
must win it back from the busy event loop each time, which made a batch of a thousand
claims take several times its own work (bench/RESULTS.md, alerting).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Connection

__all__ = ["NflogSql"]

_KEY = "group_key, receiver, integration, idx"
_LIMIT = 32_766 if sqlite3.sqlite_version_info >= (3, 32) else 999
"""Parameters a statement may have: SQLite's limit (999 before 3.32); PostgreSQL takes more."""
_CLAIM_ROWS = (_LIMIT - 1) // 8  # log entries and claims: 8 parameters a row
_QUERY_KEYS = _LIMIT - 2

Row = tuple[Any, ...]


class NflogSql:
    """The three statements for one dialect (``postgresql`` or ``sqlite``)."""

    def __init__(self, dialect: str) -> None:
        p = self.p = "%s" if dialect == "postgresql" else "?"
        self._one_row = dialect == "sqlite"
        self._row8 = f"({', '.join([p] * 8)})"
        self._log_tail = (
            f" ON CONFLICT ({_KEY}) DO UPDATE SET timestamp = excluded.timestamp, firing = excluded.firing, "
            "resolved = excluded.resolved, expires_at = excluded.expires_at "
            "WHERE nflog.timestamp <= excluded.timestamp"  # an older write never replaces a newer one
        )
        self._claim_tail = (
            f" ON CONFLICT ({_KEY}, flush_id) DO UPDATE SET holder = excluded.holder, "
            "claimed_at = excluded.claimed_at, expires_at = excluded.expires_at "
            f"WHERE nflog_claims.holder = excluded.holder OR nflog_claims.expires_at <= {p}"
        ) + ("" if self._one_row else f" RETURNING {_KEY}, flush_id")

    def log(self, conn: Connection, rows: Sequence[Row]) -> None:
        """Upsert entries (group_key, receiver, integration, idx, timestamp, firing, resolved,
        expires_at), one per key: multi-row statements (on PostgreSQL an executemany is a
        round of the driver's Python per row)."""
        for i in range(0, len(rows), _CLAIM_ROWS):
            chunk = rows[i:i + _CLAIM_ROWS]
            sql = f"INSERT INTO nflog ({_KEY}, timestamp, firing, resolved, expires_at) VALUES " + \
                ", ".join([self._row8] * len(chunk)) + self._log_tail
            conn.exec_driver_sql(sql, tuple(v for row in chunk for v in row))

    def claim(self, conn: Connection, rows: Sequence[Row], now: int) -> set[Row]:
        """Claim rows (key, flush_id, holder, claimed_at, expires_at), each key and flush once;
        the (key, flush_id) of those that went in (inserted, or taken over)."""
        won: set[Row] = set()
        for i in range(0, len(rows), _CLAIM_ROWS):
            chunk = rows[i:i + _CLAIM_ROWS]
            sql = f"INSERT INTO nflog_claims ({_KEY}, flush_id, holder, claimed_at, expires_at) VALUES " + \
                ", ".join([self._row8] * len(chunk)) + self._claim_tail
            params = tuple(v for row in chunk for v in row) + (now,)
            if not self._one_row:
                won.update(tuple(r) for r in conn.exec_driver_sql(sql, params).all())
                continue
            conn.exec_driver_sql(sql, params)
            # Read back: a claim went in when its row now names its holder at this batch's
            # time (inserted, taken over, or the holder's own claim renewed), as RETURNING says.
            asked = {tuple(row[:5]) for row in chunk}
            for holder in {row[5] for row in chunk}:
                keys = sorted({row[0] for row in chunk if row[5] == holder})
                for j in range(0, len(keys), _QUERY_KEYS):
                    part = keys[j:j + _QUERY_KEYS]
                    found = self._json_rows(conn, (
                        f"SELECT json_group_array(json_array({_KEY}, flush_id)) FROM nflog_claims "
                        f"WHERE holder = ? AND claimed_at = ? AND group_key IN ({', '.join('?' * len(part))})"),
                        (holder, now, *part))
                    won.update(r for r in map(tuple, found) if r in asked)
        return won

    def query(self, conn: Connection, group_keys: Sequence[str]) -> list[Row]:
        """Entries of these groups: (key..., timestamp, firing, resolved, expires_at)."""
        found: list[Row] = []
        columns = f"{_KEY}, timestamp, firing, resolved, expires_at"
        for i in range(0, len(group_keys), _QUERY_KEYS):
            chunk = group_keys[i:i + _QUERY_KEYS]
            where = f"WHERE group_key IN ({', '.join([self.p] * len(chunk))})"
            if self._one_row:
                found.extend(map(tuple, self._json_rows(
                    conn, f"SELECT json_group_array(json_array({columns})) FROM nflog {where}", tuple(chunk))))
            else:
                found.extend(tuple(r) for r in conn.exec_driver_sql(f"SELECT {columns} FROM nflog {where}",
                                                                    tuple(chunk)).all())
        return found

    @staticmethod
    def _json_rows(conn: Connection, sql: str, params: tuple[Any, ...]) -> list[list[Any]]:
        """The rows of a ``SELECT json_group_array(json_array(...))``: one row to step."""
        text = conn.exec_driver_sql(sql, params).scalar_one()
        return json.loads(text) if text else []
